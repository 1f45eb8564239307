"""Shared fixtures: databases (SQLite in a temp dir; PostgreSQL when IPS_TEST_DATABASE_URL is
set), a real `ips-jobs serve` process, accounts, and a raw SOAP poster."""

from __future__ import annotations

import functools
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, ClassVar, TypeVar

import pytest
import requests
from lxml import etree
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from strict import Checker

from ips_jobs.domain.jobs import LogCounts, LogDetail, Run, RunState, TaskProgress
from ips_jobs.domain.passwords import hash_password
from ips_jobs.store import migrations
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import change_counter, metadata, scheduled_jobs

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SERVICE_PATH = "/scene7/services/IpsApiService"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
COMMON_NS = "http://www.scene7.com/IpsApi/xsd"
NS = "http://www.scene7.com/IpsApi/xsd/2022-11-01-beta"
PASSWORD = "pw-for-tests"
PUBLISH = {"publishType": "Full", "emailSetting": "None"}
#: The same job as raw XML, for requests written by hand.
PUBLISH_JOB = (
    "<imageServingPublishJob><publishType>Full</publishType><emailSetting>None</emailSetting>"
    "</imageServingPublishJob>"
)
#: A server whose job engine runs, with runs that end at once and quick polls.
ENGINE_ENV = {"IPS_ENGINE": "true", "IPS_RUN_SECONDS": "0", "IPS_POLL_SECONDS": "0.05"}
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- databases --------------------------------------------------------------------------------
def postgres_base_url() -> str | None:
    return os.environ.get("IPS_TEST_DATABASE_URL") or None


def create_postgres_database(base_url: str) -> str:
    """A fresh, migrated PostgreSQL database on the server IPS_TEST_DATABASE_URL names."""
    base = make_url(base_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    name = f"ipsjobs_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    migrations.upgrade(url)
    return url


def drop_postgres_database(base_url: str, url: str) -> None:
    base = make_url(base_url)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _database_params() -> list[object]:
    return [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(
                    postgres_base_url() is None, reason="IPS_TEST_DATABASE_URL is not set"
                ),
            ],
        ),
    ]


@contextmanager
def migrated_database(backend: str, folder: Path) -> Iterator[str]:
    """A migrated, empty database: a SQLite file in `folder`, or a new PostgreSQL database
    (dropped afterwards)."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'ips.db'}"
        migrations.upgrade(url)
        yield url
        return
    base = postgres_base_url()
    assert base is not None
    url = create_postgres_database(base)
    try:
        yield url
    finally:
        drop_postgres_database(base, url)


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(scope="module", params=_database_params())
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One migrated database per backend for a whole module (see emptied_database_url)."""
    with migrated_database(request.param, tmp_path_factory.mktemp("shared")) as url:
        yield url


@pytest.fixture
def emptied_database_url(shared_database_url: str) -> Iterator[str]:
    """The module's shared database, emptied again after each test: a module whose tests
    need no file of their own overrides database_url with it (migrating is the slow part)."""
    yield shared_database_url
    engine = create_engine(shared_database_url)
    names = [t.name for t in reversed(metadata.sorted_tables) if t is not change_counter]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in names:
                conn.execute(text(f"DELETE FROM {name}"))
    engine.dispose()


@pytest.fixture
def repository(database_url: str) -> Iterator[SqlJobRepository]:
    database = Database(database_url)
    yield SqlJobRepository(database)
    database.dispose()


# -- the strict client ------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def strict_checker() -> Iterator[Checker]:
    """Every answer an ips-jobs server gives the tests is read as a strict stub of its version
    reads it (tests/strict.py)."""
    checker = Checker()
    checker.install()
    yield checker
    checker.uninstall()


@pytest.fixture(autouse=True)
def _replays(request: pytest.FixtureRequest, strict_checker: Checker) -> Iterator[None]:
    strict_checker.replaying = request.node.get_closest_marker("no_replay") is None
    yield
    strict_checker.replaying = True


# -- a real server ----------------------------------------------------------------------------
@dataclass
class Server:
    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: BinaryIO

    @property
    def service_url(self) -> str:
        return self.base_url + SERVICE_PATH

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(database_url: str, log_path: Path, *args: str, **env: str) -> Server:
    """Starts `python -m ips_jobs serve` as a user would and waits until it answers.
    The job engine is off unless IPS_ENGINE="true" is given: API tests seed runs themselves."""
    port = free_port()
    environ = {**os.environ, "IPS_LOG_LEVEL": "info", "IPS_ENGINE": "false", **env}
    command = [
        sys.executable,
        "-m",
        "ips_jobs",
        "serve",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--workers",
        "1",
        *args,
    ]
    log_file = log_path.open("wb")
    process = subprocess.Popen(
        command, stdout=log_file, stderr=subprocess.STDOUT, env=environ, start_new_session=True
    )
    server = Server(f"http://127.0.0.1:{port}", database_url, process, log_path, log_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_file.close()
            raise RuntimeError(f"ips-jobs serve exited early:\n{server.log()}")
        try:
            if requests.get(server.base_url + "/", timeout=5).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.05)
    stop_server(server)
    raise RuntimeError(f"ips-jobs serve did not answer within 60 s:\n{server.log()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    server.log_file.close()


@dataclass
class Served:
    """A server started by `serving`: where it answers, and (once stopped) how it ended."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def user_env(**extra: str) -> dict[str, str]:
    """A user's shell: none of this process's IPS_* settings, nothing pointing Python here."""
    dropped = ("IPS_", "PYTHONPATH", "VIRTUAL_ENV")
    return {**{k: v for k, v in os.environ.items() if not k.startswith(dropped)}, **extra}


def _engine_running(base_url: str) -> bool:
    try:
        health = requests.get(f"{base_url}/_ips/health", timeout=5).json()
        return bool(health["engine"]["running"])
    except (requests.ConnectionError, requests.Timeout, ValueError):
        return False


@contextmanager
def serving(command: list[str], cwd: Path, log_path: Path, **env: str) -> Iterator[Served]:
    """Runs `command`, an `ips-jobs serve ... --port-file p`, in `cwd` (as a user's shell
    would, with `env` added) until the block ends with SIGTERM. Yields once the port file
    names the port and the engine runs; stdout and stderr go to `log_path`."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=cwd, env=user_env(**env), stdout=log, stderr=subprocess.STDOUT
        )
    served: Served | None = None
    try:
        deadline = time.monotonic() + 60
        while served is None or not _engine_running(served.base_url):
            assert process.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, "not ready within 60 s"
            if served is None and (cwd / "p").is_file():
                port = int((cwd / "p").read_text())
                served = Served(f"http://127.0.0.1:{port}", process, log_path)
            time.sleep(0.05)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


@contextmanager
def server_on_its_own(
    tmp_path_factory: pytest.TempPathFactory, name: str, **env: str
) -> Iterator[Server]:
    """A real server on a SQLite file of its own (for a module's fixture), stopped after."""
    folder = tmp_path_factory.mktemp(name)
    running = start_server(f"sqlite:///{folder / 'ips.db'}", folder / "server.log", **env)
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server for the session, on its own SQLite file."""
    folder = tmp_path_factory.mktemp("server")
    running = start_server(f"sqlite:///{folder / 'ips.db'}", folder / "server.log")
    yield running
    stop_server(running)


@pytest.fixture(scope="session")
def server_repository(server: Server) -> Iterator[SqlJobRepository]:
    """The server's own database, for seeding runs and checking what was stored."""
    database = Database(server.database_url)
    yield SqlJobRepository(database)
    database.dispose()


@dataclass(frozen=True)
class Account:
    company_id: int
    company_name: str
    user_id: int
    email: str
    password: str

    @property
    def company_handle(self) -> str:
        return f"c|{self.company_id}"


@functools.cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def make_account(repository: SqlJobRepository, role: str = "IpsUser") -> Account:
    """A fresh company with one member. Every test user shares one password hash: argon2 is
    slow on purpose, and the server checks a (hash, password) pair once, then remembers it.
    The CLI and seed tests cover hashing itself."""
    suffix = uuid.uuid4().hex[:10]
    company = repository.add_company(f"Company {suffix}", datetime.now(UTC))
    user = repository.add_user(f"user-{suffix}@example.test", _password_hash(), role, [company.id])
    return Account(company.id, company.name, user.id, user.email, PASSWORD)


def stored_jobs(repository: SqlJobRepository, company_id: int) -> list[tuple[Any, ...]]:
    """Every job stored for the company, those that fired included (getScheduledJobs lists
    only what is still scheduled): to check that a refused request stored nothing."""
    columns = (scheduled_jobs.c.id, scheduled_jobs.c.name, scheduled_jobs.c.trigger_state)
    with repository.db.read() as conn:
        rows = conn.execute(
            select(*columns)
            .where(scheduled_jobs.c.company_id == company_id)
            .order_by(scheduled_jobs.c.id)
        )
        return [tuple(row) for row in rows]


@pytest.fixture
def account(server_repository: SqlJobRepository) -> Account:
    """A fresh company with one IpsUser member, on the session server."""
    return make_account(server_repository)


# -- raw SOAP ---------------------------------------------------------------------------------
def auth_header(email: str, password: str, namespace: str = COMMON_NS) -> str:
    return (
        f'<authHeader xmlns="{namespace}"><user>{email}</user><password>{password}</password>'
        "<appName>tests</appName><appVersion>1.0</appVersion></authHeader>"
    )


def envelope(body: str, header: str = "", soap_ns: str = SOAP11) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{soap_ns}"><soapenv:Header>{header}</soapenv:Header>'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    root: etree._Element

    def payload(self) -> etree._Element:
        """The one element inside the SOAP Body."""
        body = self.root[-1]
        return body[0]

    def fault(self) -> tuple[str, int, str]:
        """(fault element local name, code, reason) of a SOAP fault reply."""
        detail = self.root.find(".//detail")
        if detail is None:
            detail = self.root.find(f".//{{{SOAP12}}}Detail")
        assert detail is not None, etree.tostring(self.root)
        element = detail[0]
        code = element.findtext(f"{{{COMMON_NS}}}code")
        reason = element.findtext(f"{{{COMMON_NS}}}reason")
        return etree.QName(element).localname, int(code or 0), reason or ""


def post(
    url: str,
    body: bytes,
    content_type: str = "text/xml; charset=UTF-8",
    headers: dict[str, str] | None = None,
) -> Reply:
    response = requests.post(
        url, data=body, headers={"Content-Type": content_type, **(headers or {})}, timeout=30
    )
    return Reply(response.status_code, dict(response.headers), etree.fromstring(response.content))


def q(name: str, namespace: str = NS) -> str:
    """An element name in a payload namespace (NS unless given), as lxml spells it."""
    return f"{{{namespace}}}{name}"


@contextmanager
def account_and_caller(server: Server) -> Iterator[tuple[Account, Callable[..., Reply]]]:
    """A fresh account on `server`, and a function posting `<op>Param` content as it."""
    database = Database(server.database_url)
    try:
        account = make_account(SqlJobRepository(database))
        yield account, caller(server, account)
    finally:
        database.dispose()


def caller(server: Server, account: Account) -> Callable[..., Reply]:
    """A function posting `<op>Param` content to `server` as `account`, in NS."""

    def _call(operation: str, inner: str, namespace: str = NS) -> Reply:
        body = f'<{operation}Param xmlns="{namespace}">{inner}</{operation}Param>'
        header = auth_header(account.email, account.password)
        return post(server.service_url, envelope(body, header))

    return _call


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, interval: float = 0.05) -> T:
    """Polls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        time.sleep(interval)


@pytest.fixture
def call(server: Server, account: Account):  # type: ignore[no-untyped-def]
    """Posts `<op>Param` content as `account`, in NS, and returns the Reply."""

    def _call(operation: str, inner: str, namespace: str = NS) -> Reply:
        body = f'<{operation}Param xmlns="{namespace}">{inner}</{operation}Param>'
        return post(
            server.service_url, envelope(body, auth_header(account.email, account.password))
        )

    return _call


# -- seeding runs the way the engine will -----------------------------------------------------
BASE_TIME = datetime(2024, 3, 5, 10, 0, 0, tzinfo=UTC)


def seed_run(
    repository: SqlJobRepository,
    account: Account,
    job_name: str,
    start: datetime,
    *,
    state: RunState = RunState.RUNNING,
    kind: str = "imageServingPublishJob",
    detail: dict[str, Any] | None = None,
    end: datetime | None = None,
    log_type: str = "",
    counts: LogCounts | None = None,
    tasks: tuple[TaskProgress, ...] = (),
    progress_message: str = "",
) -> Run:
    scheduled = repository.scheduled_job(account.company_id, job_name)
    stamp = start.strftime("%Y-%m-%d-%H:%M:%S.") + f"{start.microsecond // 1000:03d}"
    run = Run(
        id=0,
        company_id=account.company_id,
        scheduled_job_id=scheduled.id if scheduled else None,
        name=f"{job_name}_{stamp}",
        original_name=job_name,
        kind=kind,
        detail=detail if detail is not None else {**PUBLISH, "httpCompletionUrl": ""},
        submit_user_email=account.email,
        locale="en-US",
        description=None,
        state=state,
        server_name="emulator_1",
        trigger_time=start,
        start_date=start,
        progress_message=progress_message,
        last_progress_update=start + timedelta(seconds=2),
        tasks=tasks,
        log_type=log_type,
        end_date=end,
        counts=counts or LogCounts(),
        submit_user_id=account.user_id,
    )
    return repository.add_run(run)


def detail_row(run: Run, minute: int, log_type: str, message: str, **extra: Any) -> LogDetail:
    return LogDetail(
        run_id=run.id,
        date_created=run.start_date + timedelta(minutes=minute),
        log_type=log_type,
        log_message=message,
        **extra,
    )


class FileHandler(http.server.BaseHTTPRequestHandler):
    """Serves `files` (path -> bytes) over GET, 404 for the rest; subclasses set `files`."""

    files: ClassVar[Mapping[str, bytes]] = {}

    def do_GET(self) -> None:
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def loopback_http(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A loopback HTTP server with `handler` (files for upload jobs to fetch); its base URL."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
