"""IPS client code in other languages works against ips-jobs unchanged: PHP's SoapClient
(Debian's php-cli, php-soap), node `soap` (tests/clients/node, `npm ci`), JAX-WS stubs made by
wsimport (Debian's jaxws, libjaxws-java) and a .NET web service proxy made by Mono's `wsdl`
(Debian's mono-devel), each built from the served WSDL, submit a job,
get the duplicate name's fault with its IPS detail, read the job back, get the
authentication fault of a wrong password, and read a running run, the job logs and an ended
log's details, with the times the client itself parsed (in a time zone other than the
server's). Outside CI a missing runtime skips its test; CI installs them all and runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import BASE_TIME, Account, Server, detail_row, seed_run

from ips_jobs.domain.jobs import LogCounts, Run, RunState, TaskProgress
from ips_jobs.store.repository import SqlJobRepository

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
JAXWS_RT = Path("/usr/share/java/jaxws-rt.jar")  # its manifest names the jars it needs
IN_CI = bool(os.environ.get("CI"))
#: 2016-01-14-beta: the oldest version the clients' calls fit (getActiveJobs with
#: includeWaitingJobs, JobLogDetail/dateCreated), and one whose types are known exactly.
WSDL_PATH = "/scene7/webservice/IpsApi-2016-01-14-beta.wsdl"
#: The clients run here, the server in UTC: a time read without its zone would be hours off.
CLIENT_ZONE = "America/New_York"


@dataclass(frozen=True)
class Client:
    #: Why the client cannot run here, or None.
    missing: Callable[[], str | None]
    #: Builds what it needs in a folder of its own from the WSDL; the command to run.
    prepare: Callable[[Path, str], list[str]]


def _php_missing() -> str | None:
    if shutil.which("php") is None:
        return "php is missing (apt-get install php-cli php-soap)"
    modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False).stdout
    if "soap" not in modules.split():
        return "php has no soap extension (apt-get install php-soap)"
    return None


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is missing"
    if not (NODE_DIR / "node_modules" / "soap").is_dir():
        return f"node soap is not installed (npm ci --prefix {NODE_DIR})"
    return None


def _jaxws_missing() -> str | None:
    tools = [tool for tool in ("wsimport", "javac", "java") if shutil.which(tool) is None]
    if tools or not JAXWS_RT.is_file():
        return f"JAX-WS is missing: {tools or JAXWS_RT} (apt-get install jaxws libjaxws-java)"
    return None


def _jaxws_build(folder: Path, wsdl: str) -> list[str]:
    """wsimport's stubs from the served WSDL, compiled with the client, as a Java project's
    build would; -XadditionalHeaders makes the authHeader a parameter of each operation."""
    sources, classes = folder / "src", folder / "classes"
    sources.mkdir()
    classes.mkdir()
    _check([
        "wsimport", "-quiet", "-XadditionalHeaders", "-Xnocompile", "-keep",
        "-s", str(sources), "-d", str(sources), wsdl,
    ])  # fmt: skip
    files = [str(path) for path in sources.rglob("*.java")]
    _check([
        "javac", "-nowarn", "-cp", str(JAXWS_RT), "-d", str(classes),
        *files, str(HERE / "java" / "Client.java"),
    ])  # fmt: skip
    return ["java", "-cp", f"{classes}:{JAXWS_RT}", "Client"]


def _dotnet_missing() -> str | None:
    tools = [tool for tool in ("wsdl", "mcs", "mono") if shutil.which(tool) is None]
    return f"Mono is missing: {tools} (apt-get install mono-devel)" if tools else None


def _dotnet_build(folder: Path, wsdl: str) -> list[str]:
    """The proxy class Mono's wsdl.exe generates from the served WSDL (its Url is the WSDL's
    address), compiled with the client."""
    proxy, program = folder / "IpsApi.cs", folder / "client.exe"
    _check(["wsdl", "-nologo", f"-out:{proxy}", wsdl])
    _check([
        "mcs", "-nologo", "-nowarn:414,649", f"-out:{program}", "-r:System.Web.Services",
        "-r:System.Xml", str(proxy), str(HERE / "dotnet" / "Client.cs"),
    ])  # fmt: skip
    return ["mono", str(program)]


def _check(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"


CLIENTS = {
    "php SoapClient": Client(_php_missing, lambda _, __: ["php", str(HERE / "soapclient.php")]),
    "node soap": Client(_node_missing, lambda _, __: ["node", str(NODE_DIR / "client.js")]),
    "JAX-WS": Client(_jaxws_missing, _jaxws_build),
    ".NET (Mono wsdl)": Client(_dotnet_missing, _dotnet_build),
}


def _run(name: str, folder: Path, server: Server, account: Account, job: str) -> dict[str, Any]:
    client = CLIENTS[name]
    reason = client.missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"{name}: {reason}; CI installs it (.ci/run)")
        pytest.skip(f"{reason}; CI installs it and runs this")
    command = client.prepare(folder, server.base_url + WSDL_PATH)
    args = [server.base_url + WSDL_PATH, account.email, account.password]
    done = subprocess.run(
        [*command, *args, account.company_handle, job],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TZ": CLIENT_ZONE},
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _seed_runs(repository: SqlJobRepository, account: Account) -> tuple[Run, Run]:
    """A run in progress with an upload task, and yesterday's run, ended with two log rows."""
    task = TaskProgress(
        "com.scene7.upload.UploadAsyncTaskMonitor", "Processing", 2, 1, 1, 0.5, "", BASE_TIME
    )
    running = seed_run(repository, account, "Running job", BASE_TIME, tasks=(task,))
    ended = seed_run(
        repository,
        account,
        "Ended job",
        BASE_TIME - timedelta(days=1),
        state=RunState.DONE,
        end=BASE_TIME - timedelta(days=1) + timedelta(minutes=2),
        log_type="BeginImageServingPublish",
        counts=LogCounts(file_success=3, total_file=3),
    )
    repository.add_log_details(
        [
            detail_row(ended, 0, "BeginImageServingPublish", "Job has begun"),
            detail_row(ended, 2, "EndImageServingPublish", "Job completed"),
        ]
    )
    return running, ended


def _millis(when: datetime | None) -> int | None:
    return None if when is None else round(when.timestamp() * 1000)


def _handle(account: Account, run: Run) -> str:
    return f"j|{account.company_id}||{run.name}|{run.id}"


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_a_client_built_from_the_served_wsdl_works_unchanged(
    name: str,
    tmp_path: Path,
    server: Server,
    server_repository: SqlJobRepository,
    account: Account,
) -> None:
    job_name = f"{name} nightly {uuid.uuid4().hex[:6]}"
    running, ended = _seed_runs(server_repository, account)

    result = _run(name, tmp_path, server, account, job_name)

    assert result["jobHandle"] == f"j|{account.company_id}|{job_name}||"
    assert result["duplicate"] == {
        "faultstring": "ipsApiFault",
        "fault": "ipsApiFault",
        "code": 30000,
        "reason": f"Job name '{job_name}' is already in use.",
    }
    assert result["scheduled"] == [
        {
            "jobHandle": result["jobHandle"],
            "name": job_name,
            "execSchedule": "0 0 3 * * ?",
            "publishType": "Full",
        }
    ]
    assert result["wrongPassword"] == {
        "faultstring": "AuthenticationException",
        "fault": "authenticationFault",
        "code": 10001,
        "reason": "Invalid username/password",
    }
    assert result["active"] == [
        {
            "jobHandle": _handle(account, running),
            "state": "Running",
            "startMs": _millis(BASE_TIME),
            "progress": 0,
            "tasks": [{"taskType": "com.scene7.upload.UploadAsyncTaskMonitor", "progress": 0.5}],
        }
    ]
    assert sorted(result["logs"], key=lambda log: log["startMs"]) == [
        {
            "jobHandle": _handle(account, ended),
            "logType": "BeginImageServingPublish",
            "startMs": _millis(ended.start_date),
            "endMs": _millis(ended.end_date),
            "fileSuccessCount": 3,
            "fatalError": False,
        },
        {
            "jobHandle": _handle(account, running),
            "logType": "",
            "startMs": _millis(BASE_TIME),
            "endMs": None,
            "fileSuccessCount": 0,
            "fatalError": False,
        },
    ]
    assert result["details"] == [
        {
            "logType": log_type,
            "logMessage": message,
            "dateMs": _millis(BASE_TIME - timedelta(days=1) + timedelta(minutes=minute)),
        }
        for minute, log_type, message in [
            (0, "BeginImageServingPublish", "Job has begun"),
            (2, "EndImageServingPublish", "Job completed"),
        ]
    ]
