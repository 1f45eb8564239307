"""Small things clients trip on: the WSDL without `webservice/` in its path, an injected
fatal_run that must not look partly successful, and Ctrl-C with a manual run in progress."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from conftest import (
    ENGINE_ENV,
    Account,
    Reply,
    Server,
    account_and_caller,
    caller,
    make_account,
    q,
    server_on_its_own,
    start_server,
    stop_server,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

from ips_jobs.domain.jobs import RunState
from ips_jobs.domain.ports import RunQuery
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

Call = Callable[..., Reply]


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on_its_own(tmp_path_factory, "fidelity", **ENGINE_ENV) as running:
        yield running


@pytest.fixture
def soap(engine_server: Server) -> Iterator[tuple[Account, Call]]:
    with account_and_caller(engine_server) as soap:
        yield soap
    requests.delete(f"{engine_server.base_url}/_ips/faults", timeout=10)


def submit(call: Call, account: Account, name: str, job: str) -> None:
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>{job}",
    )
    assert reply.status == 200, etree.tostring(reply.root)


# -- WSDL paths -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "file_name", ["IpsApi.wsdl", "IpsApi-2014-04-03.wsdl", "IpsApi-2022-11-01-beta.wsdl"]
)
def test_wsdl_is_served_without_webservice_in_the_path(
    engine_server: Server, file_name: str
) -> None:
    short = requests.get(f"{engine_server.base_url}/scene7/{file_name}", timeout=10)
    usual = requests.get(f"{engine_server.base_url}/scene7/webservice/{file_name}", timeout=10)
    assert short.status_code == 200
    assert short.headers["Content-Type"] == "text/xml;charset=UTF-8"
    assert short.content == usual.content
    service = f"{engine_server.base_url}/scene7/services/IpsApiService"
    assert f'location="{service}"'.encode() in short.content


def test_wsdl_of_an_unknown_version_is_404_on_both_paths(engine_server: Server) -> None:
    for path in ("/scene7/IpsApi-1999-01-01.wsdl", "/scene7/webservice/IpsApi-1999-01-01.wsdl"):
        response = requests.get(engine_server.base_url + path, timeout=10)
        assert response.status_code == 404, path
        assert "1999-01-01" in response.text


# -- an injected fatal_run --------------------------------------------------------------------
def test_fatal_run_writes_no_success_row_and_counts_no_success(
    engine_server: Server, soap: tuple[Account, Call]
) -> None:
    account, call = soap
    rule = requests.post(
        f"{engine_server.base_url}/_ips/faults",
        json={"effect": "fatal_run", "job_name": "doomed upload", "reason": "Disk on fire"},
        timeout=10,
    )
    assert rule.status_code == 201, rule.text
    urls = "".join(
        f"<items><sourceUrl>{src}</sourceUrl><destPath>f/{n}.jpg</destPath></items>"
        for n, src in enumerate(["http://example.test/a.jpg", "http://example.test/b.jpg", "x"])
    )
    submit(
        call,
        account,
        "doomed upload",
        f"<uploadUrlsJob><urlArray>{urls}</urlArray><overwrite>true</overwrite>"
        "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
        "<emailSetting>None</emailSetting></uploadUrlsJob>",
    )

    def ended() -> list[etree._Element]:
        reply = call(
            "getJobLogDetails",
            f"<companyHandle>{account.company_handle}</companyHandle>"
            "<originalName>doomed upload</originalName>",
        )
        logs = reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")
        return [log for log in logs if log.findtext(q("endDate"))]

    [log] = wait_for(ended)
    rows = log.findall(f"{q('detailArray')}/{q('items')}")
    types = [row.findtext(q("logType")) or "" for row in rows]
    assert types == ["BeginUpload", "OriginalJobName", "JobClient", "UploadError", "FatalError"]
    assert rows[-1].findtext(q("logMessage")) == "Disk on fire"
    assert not [row for row in rows if row.findtext(q("assetHandle"))]
    assert log.findtext(q("fatalError")) == "true"
    assert log.findtext(q("fileSuccessCount")) == "0"

    reply = call("getJobLogs", f"<companyHandle>{account.company_handle}</companyHandle>")
    [summary] = reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")
    assert summary.findtext(q("fatalError")) == "true"
    assert summary.findtext(q("fileSuccessCount")) == "0"
    assert summary.findtext(q("fileErrorCount")) == "1"
    assert summary.findtext(q("totalFileCount")) == "1"


# -- Ctrl-C -----------------------------------------------------------------------------------
def test_ctrl_c_ends_a_manual_run_and_nothing_is_killed(tmp_path: Path) -> None:
    """Ctrl-C sends SIGINT to the terminal's whole foreground process group (the server, its
    HTTP worker and its engine). The manual run waiting to be advanced ends with the shutdown
    FatalError, like any unfinished run, and a request held by a latency fault does not keep
    the worker until the arbiter SIGKILLs it."""
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    server = start_server(url, tmp_path / "server.log", **ENGINE_ENV)
    database = Database(url)
    try:
        account = make_account(SqlJobRepository(database))
        call = caller(server, account)
        controls = f"{server.base_url}/_ips"
        manual = {"job_name": "by hand", "manual": True}
        assert requests.post(f"{controls}/run-controls", json=manual, timeout=10).ok
        submit(call, account, "by hand", PUBLISH)

        def waiting() -> list[object]:
            runs = SqlJobRepository(database).runs(RunQuery([account.company_id]))
            return [r for r in runs if r.state is RunState.RUNNING and r.step == 1]

        wait_for(waiting)
        slow = {"effect": "latency", "operation": "getActiveJobs", "latency_ms": 60000}
        assert requests.post(f"{controls}/faults", json=slow, timeout=10).ok
        held = threading.Thread(target=_held_request, args=(call, account), daemon=True)
        held.start()
        wait_for(lambda: "applies to Target(operation='getActiveJobs'" in server.log())

        os.killpg(server.process.pid, signal.SIGINT)
        assert server.process.wait(timeout=60) == 0
        server.log_file.close()

        [run] = SqlJobRepository(database).runs(RunQuery([account.company_id]))
        assert (run.state, run.fatal_error) == (RunState.DONE, True)
        assert "shut down" in run.progress_message
        log = server.log()
        assert "1 unfinished run(s) ended" in log
        assert "SIGKILL" not in log
        assert "Traceback" not in log
    finally:
        if server.process.poll() is None:
            stop_server(server)
        database.dispose()


def _held_request(call: Call, account: Account) -> None:
    """A getActiveJobs the latency fault holds; the shutdown cuts it."""
    with contextlib.suppress(requests.RequestException):
        call("getActiveJobs", f"<companyHandle>{account.company_handle}</companyHandle>")
