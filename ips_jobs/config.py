"""Settings, parsed and validated once at the edge; the only reader of os.environ."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///./ips-jobs.db"
#: Names a TOML config file (`ips-jobs --config FILE` wins over it); empty means none.
CONFIG_ENV = "IPS_CONFIG"
LOG_FORMATS = ("text", "json")
#: IPS_UPLOADS: upload jobs fetch and store their files, or are simulated (no asset is made).
UPLOAD_MODES = ("fetch", "simulate")

#: Names a setting where it was given: its flag, its config-file key or its IPS_* variable.
Namer = Callable[[str], str]


def env_name(field: str) -> str:
    return f"IPS_{field.upper()}"


def flag_name(field: str) -> str:
    """The command-line flag of a setting: every flag is its field, dashed."""
    return "--" + field.replace("_", "-")


def parse_bool(name: str, raw: str) -> bool:
    """Strict booleans: 'false' must not read as true."""
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name}: must not be negative, got {value}")
    return value


def parse_int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the service can be told; each field has one IPS_* environment variable."""

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    threads: int = 8
    max_body_bytes: int = 10 * 1024 * 1024
    body_timeout: float = 30.0
    header_timeout: float = 10.0
    timezone: str = "UTC"
    seed_demo: bool = True
    log_level: str = "info"
    log_format: str = "text"
    engine: bool = True
    engine_threads: int = 4
    engine_max_runs: int = 10_000
    poll_seconds: float = 0.1
    heartbeat_timeout: float = 15.0
    run_seconds: float = 3.0
    run_seconds_by_type: str = ""
    public_url: str = ""
    journal_size: int = 1000
    ephemeral: bool = False
    port_file: str = ""
    log_retention: float = 30.0
    control_token: str = ""
    uploads: str = "fetch"
    asset_store: str = ""
    server_directory: str = ""
    fetch_timeout: float = 30.0
    max_file_bytes: int = 1024 * 1024 * 1024
    upload_wait: float = 1800.0

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        **flag_overrides: Any,
    ) -> Settings:
        """Environment variables, then the TOML config file, then flags: a later source wins."""
        return cls.resolve(environ, config_file, **flag_overrides)[0]

    @classmethod
    def resolve(
        cls,
        environ: Mapping[str, str] | None = None,
        config_file: str | os.PathLike[str] | None = None,
        **flag_overrides: Any,
    ) -> tuple[Settings, Namer]:
        """The settings, and a namer that says where each one was given, so that an error
        names what the user typed: `--port`, `config file x.toml: port` or `IPS_PORT`.

        The file is `config_file` (the `--config` flag) or else the one IPS_CONFIG names; its
        keys are the field names, typed by TOML (`port = 8081`, `seed_demo = false`)."""
        env = os.environ if environ is None else environ
        path = config_file if config_file not in (None, "") else env.get(CONFIG_ENV) or None
        from_file = read_config_file(path) if path is not None else {}
        given = {k: v for k, v in flag_overrides.items() if v is not None}
        origins = {key: f"config file {os.fspath(path)}: {key}" for key in from_file}
        origins.update({key: flag_name(key) for key in given})

        def name(field: str) -> str:
            return origins.get(field, env_name(field))

        return cls._from(env, name, {**from_file, **given}), name

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read IPS_<FIELD> variables, then apply explicit overrides (CLI flags win)."""
        env = os.environ if environ is None else environ
        return cls._from(env, env_name, {k: v for k, v in overrides.items() if v is not None})

    @classmethod
    def _from(cls, env: Mapping[str, str], name: Namer, overrides: dict[str, Any]) -> Settings:
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(env_name(field.name))
            if raw is not None:
                values[field.name] = _coerce(field.name, field.type, raw)
        return replace(cls(**values), **overrides).validated(name)

    def validated(self, name: Namer = env_name) -> Settings:
        """Checks every value, naming the offending one as the user gave it."""
        if not 0 <= self.port < 65536:
            raise ConfigError(f"{name('port')}: {self.port} is not a TCP port (0 picks a free one)")
        for field in ("workers", "threads", "engine_threads", "engine_max_runs"):
            if getattr(self, field) < 1:
                raise ConfigError(f"{name(field)}: must be at least 1")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"{name('max_body_bytes')}: must be at least 1024 bytes")
        for field in (
            "body_timeout",
            "header_timeout",
            "poll_seconds",
            "heartbeat_timeout",
            "fetch_timeout",
            "upload_wait",
        ):
            if getattr(self, field) <= 0:
                raise ConfigError(f"{name(field)}: must be more than 0 seconds")
        if self.run_seconds < 0:
            raise ConfigError(f"{name('run_seconds')}: must not be negative")
        if self.log_retention < 0:
            raise ConfigError(f"{name('log_retention')}: must not be negative (0 keeps all)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name('timezone')}: unknown time zone {self.timezone!r}") from None
        self.durations(name)
        if self.log_level.lower() not in {"debug", "info", "warning", "error"}:
            raise ConfigError(f"{name('log_level')}: use debug, info, warning or error")
        if self.uploads not in UPLOAD_MODES:
            raise ConfigError(f"{name('uploads')}: use fetch or simulate, not {self.uploads!r}")
        if self.max_file_bytes < 1:
            raise ConfigError(f"{name('max_file_bytes')}: must be at least 1")
        if self.server_directory and not os.path.isdir(self.server_directory):
            raise ConfigError(
                f"{name('server_directory')}: {self.server_directory!r} is not a directory"
            )
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"{name('log_format')}: use text or json, not {self.log_format!r}")
        try:
            make_url(self.database_url)
        except ArgumentError:
            raise ConfigError(
                f"{name('database_url')}: cannot parse {self.database_url!r}"
            ) from None
        return self

    def durations(self, name: Namer = env_name) -> dict[str, float]:
        """IPS_RUN_SECONDS_BY_TYPE, e.g. `UrlUpload=5,Export=0.5`: seconds per job type."""
        found: dict[str, float] = {}
        known = sorted(JOB_TYPES.values())
        for part in filter(None, (p.strip() for p in self.run_seconds_by_type.split(","))):
            job_type, sep, seconds = (piece.strip() for piece in part.partition("="))
            if not sep or not job_type:
                raise ConfigError(
                    f"{name('run_seconds_by_type')}: expected TYPE=SECONDS, got {part!r}"
                )
            if job_type not in known:
                raise ConfigError(
                    f"{name('run_seconds_by_type')}: unknown job type {job_type!r} "
                    f"(known: {', '.join(known)})"
                )
            found[job_type] = parse_float(name("run_seconds_by_type"), seconds)
        return found

    @property
    def in_memory_database(self) -> bool:
        """`sqlite://` or `sqlite:///:memory:`: no file, which serve reads as --ephemeral."""
        url = make_url(self.database_url)
        return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")

    def asset_folder(self) -> str:
        """Where uploaded files are kept (see asset_folder())."""
        return asset_folder(self.asset_store, self.database_url)

    def base_url(self) -> str:
        """Where clients reach this server (used in export download URLs)."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def to_env(self) -> dict[str, str]:
        """These settings as IPS_* variables, for a child process. IPS_CONFIG is emptied: the
        settings are already the effective ones, and a file must not override them again."""
        env = {CONFIG_ENV: ""}
        for field in fields(self):
            value = getattr(self, field.name)
            env[env_name(field.name)] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
        return env


def asset_folder(asset_store: str, database_url: str) -> str:
    """Where uploaded files are kept: IPS_ASSET_STORE, else a folder beside a SQLite
    database file (`ips-jobs.db` -> `ips-jobs.db.files`), else `./ips-jobs-files`."""
    if asset_store:
        return asset_store
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return f"{url.database}.files"
    return "ips-jobs-files"


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A TOML config file's settings; every error names the file (and the key)."""
    where = f"config file {os.fspath(path)}"
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    kinds = {field.name: field.type for field in fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in kinds:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(kinds))})")
        values[key] = _typed(where, key, kinds[key], value)
    return values


#: What a config file value must be, per field type (TOML types the values itself).
_TOML_TYPES: dict[str, tuple[str, tuple[type, ...]]] = {
    "bool": ("true or false", (bool,)),
    "int": ("an integer", (int,)),
    "float": ("a number", (int, float)),
    "str": ("a string", (str,)),
}


def _typed(where: str, key: str, kind: Any, value: Any) -> Any:
    expected, types = _TOML_TYPES[kind if isinstance(kind, str) else kind.__name__]
    # bool is an int in Python, but `port = true` is no port.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        shown = repr(value) if isinstance(value, str | int | float) else type(value).__name__
        raise ConfigError(f"{where}: {key} must be {expected}, got {shown}")
    if kind in ("int", "float", int, float) and value < 0:
        raise ConfigError(f"{where}: {key} must not be negative, got {value}")
    return float(value) if kind in ("float", float) else value


def _coerce(name: str, kind: Any, raw: str) -> Any:
    var = env_name(name)
    if kind in ("bool", bool):
        return parse_bool(var, raw)
    if kind in ("int", int):
        return parse_int(var, raw)
    if kind in ("float", float):
        return parse_float(var, raw)
    return raw
