"""The `ips-jobs` command. Every option can also be set with the IPS_* variable it names, or
in a TOML config file (`--config FILE` / IPS_CONFIG): environment variables, then the config
file, then flags, a later one winning. Errors print one line and exit non-zero."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import click

from ips_jobs import __version__, app, logs, malloc
from ips_jobs.config import (
    CONFIG_ENV,
    DEFAULT_DATABASE_URL,
    LOG_FORMATS,
    Namer,
    Settings,
    env_name,
    flag_name,
)
from ips_jobs.domain import access
from ips_jobs.errors import ENGINE_BUSY_EXIT, ConfigError, EngineBusy, IpsJobsError

F = Callable[..., Any]


def _option(field: str, help: str, switch: bool = False, **kwargs: Any) -> Callable[[F], F]:
    """The flag of a setting: `--field-name` (with `--no-field-name` for a switch), its help
    naming the IPS_* variable."""
    flag = flag_name(field)
    decl = f"{flag}/--no-{flag[2:]}" if switch else flag
    return click.option(
        decl, field, default=None, help=f"{help} [env: {env_name(field)}]", **kwargs
    )


def database_option(f: F) -> F:
    return _option(
        "database_url",
        metavar="URL",
        help=f"SQLAlchemy URL: sqlite:///FILE or postgresql://... (default {DEFAULT_DATABASE_URL})",
    )(f)


def engine_options(f: F) -> F:
    """The options the job engine reads (serve passes them on to its engine process)."""
    options = [
        _option("timezone", help="Server time zone for schedules (default UTC)."),
        _option(
            "run_seconds",
            type=float,
            help="How long a simulated run takes; 0 ends runs at once (default 3).",
        ),
        _option(
            "run_seconds_by_type",
            metavar="TYPE=S,...",
            help="Per job type, e.g. UrlUpload=10,ImageServingPublish=1.",
        ),
        _option(
            "engine_threads",
            type=int,
            help="Threads of the engine's scheduler: its turns, heartbeats and alarms (default 4).",
        ),
        _option(
            "engine_max_runs",
            type=int,
            help="Most runs one engine works on at once; more wait, New, for a free slot or "
            "another engine (default 10000).",
        ),
        _option(
            "poll_seconds",
            type=float,
            help="How often the engine looks for due work (default 0.1).",
        ),
        _option(
            "heartbeat_timeout",
            type=float,
            help="Seconds without a heartbeat before another engine takes over a dead "
            "engine's runs (PostgreSQL; default 15).",
        ),
        _option(
            "public_url",
            metavar="URL",
            help="Base URL clients use to reach this server, for export download links "
            "(default http://HOST:PORT).",
        ),
        _option(
            "log_retention",
            type=float,
            metavar="DAYS",
            help="Job runs and their log rows that ended more than DAYS ago are deleted by "
            "the engine; 0 keeps all (default 30).",
        ),
        _option(
            "uploads",
            type=click.Choice(["fetch", "simulate"]),
            help="fetch: upload jobs fetch their files and make assets; simulate: they only "
            "write log rows, as if every file had arrived (default fetch).",
        ),
        _option(
            "asset_store",
            metavar="DIR",
            help="Folder the uploaded files are kept in, named by their SHA-256 (default: "
            "beside the SQLite database file, DATABASE.files).",
        ),
        _option(
            "server_directory",
            metavar="DIR",
            help="The folder uploadDirectoryJob's serverDir and file: upload URLs are read "
            "from; nothing outside it is read (default: none, both refused).",
        ),
        _option(
            "fetch_timeout",
            type=float,
            help="Seconds an upload may take to fetch one file (default 30).",
        ),
        _option(
            "max_file_bytes",
            type=int,
            help="Largest file an upload fetches, and largest UploadFile post; a larger "
            "file is an UploadError, a larger post is refused (default 1 GiB).",
        ),
        _option(
            "upload_wait",
            type=float,
            help="Seconds an uploadPost (UploadFile) job not ended with endJob waits for its "
            "client's next post before it uploads the files it has (default 1800, as IPS).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _resolved(**overrides: Any) -> tuple[Settings, Namer]:
    """Environment, then the config file (`ips-jobs --config` or IPS_CONFIG), then flags; and
    the namer that names each setting as the user gave it."""
    ctx = click.get_current_context(silent=True)
    config_file = (ctx.find_root().obj or {}).get("config_file") if ctx else None
    return Settings.resolve(None, config_file, **overrides)


def _settings(**overrides: Any) -> Settings:
    """The settings of a command that keeps its data: `serve` alone can keep it in a
    temporary database."""
    settings, name = _resolved(**overrides)
    if settings.ephemeral:
        raise ConfigError(f"{name('ephemeral')}: only `ips-jobs serve` takes --ephemeral")
    if settings.in_memory_database:
        raise ConfigError(
            f"{name('database_url')}: an in-memory database would vanish with this command; "
            "for a throwaway server run `ips-jobs serve --ephemeral`"
        )
    return settings


def _logging(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)


def log_options(f: F) -> F:
    f = _option(
        "log_format",
        type=click.Choice(LOG_FORMATS),
        help="text (readable) or json (one object per line on stderr; default text).",
    )(f)
    return _option(
        "log_level",
        type=click.Choice(["debug", "info", "warning", "error"]),
        help="Log level (default info).",
    )(f)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ips-jobs")
@click.option(
    "--config",
    "config_file",
    metavar="FILE",
    default=None,
    help="TOML config file; its keys are the settings' names (port = 8081, "
    f'database_url = "..."). [env: {CONFIG_ENV}]',
)
@click.pass_context
def cli(ctx: click.Context, config_file: str | None) -> None:
    """ips-jobs: an emulator of the Adobe Scene7 IPS job API (SOAP) for development and CI.

    Start the service with `ips-jobs serve`; it listens on
    http://127.0.0.1:8080/scene7/services/IpsApiService and keeps its data in ./ips-jobs.db
    unless told otherwise.

    Precedence, a later one winning: IPS_* environment variables, then the TOML config file
    (--config FILE or IPS_CONFIG), then the command's flags.
    """
    ctx.ensure_object(dict)["config_file"] = config_file


@cli.command()
@_option("host", help="Interface to listen on (default 127.0.0.1).")
@_option("port", type=int, help="TCP port; 0 picks a free one (default 8080).")
@_option(
    "port_file",
    metavar="FILE",
    help="Write the port listened on to FILE once serving (with --port 0, the one picked); "
    "removed on exit.",
)
@_option(
    "ephemeral",
    is_flag=True,
    help="Keep the data in a temporary SQLite file that is removed when the server stops "
    "(sqlite:// means the same).",
)
@_option("workers", type=int, help="Worker processes (default 2).")
@_option("threads", type=int, help="Threads per worker (default 8).")
@database_option
@engine_options
@_option("engine", switch=True, help="Also run the job engine (default on).")
@_option(
    "max_body_bytes",
    type=int,
    help="Largest request accepted (default 10 MiB).",
)
@_option(
    "body_timeout",
    type=float,
    help="Seconds a request's whole body may take to arrive before the request gets a fault "
    "(HTTP 408) (default 30).",
)
@_option(
    "header_timeout",
    type=float,
    help="Seconds a request's head (request line and headers) may take to arrive before "
    "the connection gets a 408 and is closed (default 10).",
)
@_option(
    "journal_size",
    type=int,
    help="How many of the newest SOAP exchanges the request journal (/_ips/requests) keeps; "
    "0 turns it off (default 1000).",
)
@_option(
    "control_token",
    metavar="TOKEN",
    help="Require `Authorization: Bearer TOKEN` on /_ips/ (for a server others can reach); "
    "empty: no token (default).",
)
@_option(
    "seed_demo",
    switch=True,
    help="Create a demo account when the database has no users (default on).",
)
@log_options
def serve(**overrides: Any) -> None:
    """Run the SOAP service: listen, migrate the database, then serve until stopped (Ctrl-C,
    SIGTERM). The data stays in the database (./ips-jobs.db unless told otherwise) between
    runs; --ephemeral starts from nothing each time."""
    from dataclasses import replace

    from ips_jobs import startup
    from ips_jobs.server import run

    settings, name = _resolved(**overrides)
    _logging(settings)
    malloc.return_big_blocks()  # before the workers fork: they inherit it
    with startup.listen(settings, name) as listener:  # first: a busy port creates nothing
        settings = replace(settings, port=listener.getsockname()[1])
        with startup.database(settings) as settings:
            app.prepare(settings)
            with startup.port_file(settings.port_file, settings.port):
                run(settings, listener)


@cli.command()
@database_option
@engine_options
@log_options
@click.option("--parent-pid", type=int, hidden=True, help="Exit when this process is gone.")
def worker(parent_pid: int | None, **overrides: Any) -> None:
    """Run only the job engine, no HTTP. With PostgreSQL run as many as you like; with SQLite
    exactly one engine may run per database file, and a second one refuses to start."""
    from ips_jobs.store import migrations

    settings = _settings(**overrides)
    _logging(settings)
    malloc.return_big_blocks()
    migrations.migrate(settings.database_url, logging.getLogger("ips_jobs.store").info)
    engine = app.engine(settings)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        engine.start()
    except EngineBusy as busy:
        if settings.log_format == "json":  # stderr carries only JSON lines
            logging.getLogger("ips_jobs.engine").error(busy.message)
        else:
            click.echo(f"error: {busy.message}", err=True)
        sys.exit(ENGINE_BUSY_EXIT)
    while not stopping.wait(0.5):
        if parent_pid is not None and os.getppid() != parent_pid:
            logging.getLogger("ips_jobs.engine").warning("the serve process is gone; stopping")
            break
    engine.stop()


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@database_option
def db_upgrade(**overrides: Any) -> None:
    """Apply every pending migration (serve does this on start)."""
    from ips_jobs.store import migrations

    settings = _settings(**overrides)
    migrations.upgrade(settings.database_url)
    click.echo(f"database at revision {migrations.current_revision(settings.database_url)}")


@cli.group()
def companies() -> None:
    """Manage companies."""


@companies.command("add")
@click.argument("name")
@database_option
def companies_add(name: str, **overrides: Any) -> None:
    """Create a company and print its handle."""
    company = _admin(overrides).add_company(name)
    click.echo(f"c|{company.id}")


@companies.command("list")
@database_option
def companies_list(**overrides: Any) -> None:
    """List companies: handle, name."""
    for company in _parts(overrides).repository.companies():
        click.echo(f"c|{company.id}\t{company.name}")


@cli.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@click.argument("email")
@click.option("--password", required=True, help="The user's password (stored as an argon2 hash).")
@click.option(
    "--role",
    default="IpsUser",
    show_default=True,
    type=click.Choice(access.ROLES),
    help="IPS role.",
)
@click.option(
    "--company",
    "companies_",
    multiple=True,
    metavar="NAME",
    help="Company the user belongs to; repeatable.",
)
@database_option
def users_add(
    email: str, password: str, role: str, companies_: tuple[str, ...], **overrides: Any
) -> None:
    """Create a user and print its handle."""
    user = _admin(overrides).add_user(email, password, role, list(companies_))
    click.echo(f"u|{user.id}|{user.email}")


@users.command("list")
@database_option
def users_list(**overrides: Any) -> None:
    """List users: handle, role, companies."""
    built = _parts(overrides)
    names = {c.id: c.name for c in built.repository.companies()}
    for user in built.repository.users():
        member_of = ", ".join(names[i] for i in sorted(user.company_ids))
        click.echo(f"u|{user.id}|{user.email}\t{user.role}\t{member_of}")


@cli.command("seed")
@click.argument("file", metavar="FILE")
@database_option
def seed_file(file: str, **overrides: Any) -> None:
    """Create the companies, users and jobs of a seed file (FILE.json or FILE.toml; the format
    is in docs/control-api.md), like POST /_ips/seed. What exists already is left alone."""
    from pathlib import Path

    from ips_jobs.control.seed import Seeder, parse
    from ips_jobs.store.files import FileStore

    path = Path(file)
    if path.suffix.lower() not in (".json", ".toml"):
        raise ConfigError(f"{file}: name a .json or .toml seed file")
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read it: {exc.strerror or exc}") from None
    files = FileStore(_settings(**overrides).asset_folder())
    built = _parts(overrides)
    try:
        seeder = Seeder(
            built.admin,
            built.service,
            built.repository,
            files,
            progress=lambda line: click.echo(line, err=True),
            base=path.parent,
        )
        outcome = seeder.apply(parse(body, path.suffix.lower()))
    except IpsJobsError as error:
        raise ConfigError(f"{file}: {error.message}") from None
    finally:
        built.database.dispose()
    click.echo(
        "; ".join(
            f"{section}: {len(outcome.created[section])} created, "
            f"{len(outcome.existing[section])} existing"
            for section in outcome.created
        )
    )


def _parts(overrides: dict[str, Any]) -> app.Parts:
    settings = _settings(**overrides)
    _migrate(settings.database_url)
    return app.parts(settings)


def _migrate(url: str) -> None:
    """Migrates, saying so on stderr when there is something to do."""
    from ips_jobs.store import migrations

    migrations.migrate(url, lambda line: click.echo(line, err=True))


def _admin(overrides: dict[str, Any]) -> Any:
    return _parts(overrides).admin


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)  # one line, no usage banner
        sys.exit(exc.exit_code)
    except IpsJobsError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
