"""The pytest plugin that ships with ips-jobs (entry point `ips_jobs`): installing ips-jobs
into a test environment is all it takes to test IPS client code against a real server.

    def test_nightly_publish_is_scheduled(ips):
        client = zeep.Client(ips.wsdl_url("2014-04-03"))
        ...

Fixtures:
- `ips_server` (session): starts `ips-jobs serve` on a free port, with an ephemeral database
  and the job engine on, and stops it at the end of the session (each pytest-xdist worker
  gets its own);
- `ips`: the same server, reset before the test to the demo account alone.

Options (and their environment twins): `--ips-database-url` (IPS_PYTEST_DATABASE_URL) serves
from that database instead, which the fixtures empty; `--ips-run-seconds`
(IPS_PYTEST_RUN_SECONDS, default 0: runs end at once) sets how long a run takes;
`--ips-uploads simulate` (IPS_PYTEST_UPLOADS) keeps upload jobs from fetching their URLs (for
suites whose URLs the test machine cannot reach; by default they are fetched, as IPS does).
The server ignores the IPS_* settings of the environment, which belong to your own server.

Only the standard library is used here, so that loading the plugin costs nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

SERVICE_PATH = "/scene7/services/IpsApiService"
DEMO_COMPANY = {"name": "Demo Company", "id": 1}
DEMO_USER = {"email": "demo@example.com", "password": "demo", "role": "IpsUser"}
#: How long the server may take to listen and to have its engine running.
START_SECONDS = 60.0


class IpsControlError(Exception):
    """The server refused a control call; the message is its answer."""


class IpsServer:
    """A running `ips-jobs serve`: where it answers, the demo account, and the control API
    (`/_ips/`, see docs/control-api.md) as methods."""

    user = DEMO_USER["email"]
    password = DEMO_USER["password"]
    company_handle = f"c|{DEMO_COMPANY['id']}"

    def __init__(self, base_url: str, log_path: Path) -> None:
        self.base_url = base_url
        self.log_path = log_path

    @property
    def url(self) -> str:
        """The SOAP endpoint."""
        return self.base_url + SERVICE_PATH

    @property
    def control_url(self) -> str:
        return self.base_url + "/_ips"

    def wsdl_url(self, version: str | None = None) -> str:
        """The WSDL of an API version (`"2014-04-03"`); None: the endpoint's own `?wsdl`."""
        if version is None:
            return self.url + "?wsdl"
        return f"{self.base_url}/scene7/webservice/IpsApi-{version}.wsdl"

    def reset(self) -> None:
        """Back to a fresh server: no jobs, runs, logs, fault rules, run controls or journal,
        and only the demo account (company, user and job ids start again at 1; run ids go on,
        so that a run from before can never be mistaken for a new one)."""
        self.control("POST", "/reset", {"accounts": True})
        self.seed(
            {
                "companies": [DEMO_COMPANY],
                "users": [{**DEMO_USER, "companies": [DEMO_COMPANY["name"]]}],
            }
        )

    def seed(self, doc: dict[str, Any]) -> Any:
        """Creates the companies, users and jobs of `doc` (what exists is left alone)."""
        return self.control("POST", "/seed", doc)

    def fault(self, **rule: Any) -> Any:
        """Adds a fault rule, e.g. `fault(effect="fault", operation="submitJob", code=30000,
        remaining=1)`, and answers it with its id."""
        return self.control("POST", "/faults", rule)

    def requests(self, **filters: Any) -> Any:
        """The request journal, newest first (filters as in GET /_ips/requests)."""
        query = f"?{urlencode(filters)}" if filters else ""
        return self.control("GET", f"/requests{query}")

    def health(self) -> Any:
        return self.control("GET", "/health")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """One call of the control API; its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.control_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return json.load(answer)
        except urllib.error.HTTPError as error:
            raise IpsControlError(
                f"{method} {path}: HTTP {error.code}: {error.read().decode(errors='replace')}"
            ) from None

    def log(self) -> str:
        """What the server has written to its log so far."""
        return self.log_path.read_text(errors="replace")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ips_jobs", "ips-jobs server for the ips / ips_server fixtures")
    group.addoption(
        "--ips-database-url",
        default=os.environ.get("IPS_PYTEST_DATABASE_URL") or None,
        metavar="URL",
        help="Serve from this database (e.g. postgresql://user@host/db) instead of an "
        "ephemeral SQLite file; the fixtures empty it. [env: IPS_PYTEST_DATABASE_URL]",
    )
    group.addoption(
        "--ips-run-seconds",
        default=os.environ.get("IPS_PYTEST_RUN_SECONDS") or "0",
        metavar="SECONDS",
        help="How long a job run takes (default 0: runs end at once). "
        "[env: IPS_PYTEST_RUN_SECONDS]",
    )
    group.addoption(
        "--ips-uploads",
        default=os.environ.get("IPS_PYTEST_UPLOADS") or "fetch",
        choices=("fetch", "simulate"),
        help="fetch (default): upload jobs fetch their URLs and make assets, as IPS does; "
        "simulate: they fetch nothing and succeed. [env: IPS_PYTEST_UPLOADS]",
    )


@pytest.fixture(scope="session")
def ips_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IpsServer]:
    """A real `ips-jobs serve` for the whole session (see the module's docstring)."""
    folder = tmp_path_factory.mktemp("ips-jobs")
    database_url = request.config.getoption("--ips-database-url")
    command = [
        sys.executable,
        "-m",
        "ips_jobs",
        "serve",
        "--port",
        "0",
        "--port-file",
        str(folder / "port"),
        "--workers",
        "1",
        "--run-seconds",
        str(request.config.getoption("--ips-run-seconds")),
        "--uploads",
        str(request.config.getoption("--ips-uploads")),
        *(["--database-url", database_url] if database_url else ["--ephemeral"]),
    ]
    env = {key: value for key, value in os.environ.items() if not key.startswith("IPS_")}
    log_path = folder / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        server = _started(process, folder / "port", log_path)
        if database_url:
            server.reset()
        yield server
    finally:
        _stop(process)


@pytest.fixture
def ips(ips_server: IpsServer) -> IpsServer:
    """The session's server, reset to the demo account alone before this test."""
    ips_server.reset()
    return ips_server


def _started(process: subprocess.Popen[bytes], port_file: Path, log_path: Path) -> IpsServer:
    """Waits until the server listens and its engine runs."""
    deadline = time.monotonic() + START_SECONDS
    server: IpsServer | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"ips-jobs serve exited with status {process.returncode}:\n"
                + log_path.read_text(errors="replace")
            )
        if server is None and port_file.is_file():
            port = port_file.read_text().strip()
            server = IpsServer(f"http://127.0.0.1:{port}", log_path)
        if server is not None and _engine_running(server):
            return server
        time.sleep(0.05)
    _stop(process)
    raise RuntimeError(
        f"ips-jobs serve was not ready within {START_SECONDS:.0f} s:\n"
        + log_path.read_text(errors="replace")
    )


def _engine_running(server: IpsServer) -> bool:
    try:
        return bool(server.health()["engine"]["running"])
    except (OSError, IpsControlError, ValueError, KeyError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
