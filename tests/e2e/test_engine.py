"""The job engine as a client sees it through SOAP: jobs reach Done with their logs, on time,
and obey stop, pause, resume, execute and delete; a crash ends runs with a FatalError."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from conftest import (
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
from lxml import etree

from ips_jobs.domain.ports import RunQuery
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

ENGINE_ENV = {
    "IPS_ENGINE": "true",
    "IPS_RUN_SECONDS": "0",
    "IPS_RUN_SECONDS_BY_TYPE": "VideoPublish=60",
    "IPS_POLL_SECONDS": "0.05",
    # the uploads here name URLs nobody serves: their runs are simulated
    "IPS_UPLOADS": "simulate",
}
SLOW = "<videoPublishJob><emailSetting>Error</emailSetting></videoPublishJob>"


@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on_its_own(tmp_path_factory, "engine", **ENGINE_ENV) as running:
        yield running


@pytest.fixture
def soap(engine_server: Server) -> Iterator[tuple[Account, Callable[..., Reply]]]:
    with account_and_caller(engine_server) as soap:
        yield soap


def submit(
    call: Callable[..., Reply], account: Account, name: str, job: str, extra: str = ""
) -> str:
    reply = call(
        "submitJob",
        f"<companyHandle>{account.company_handle}</companyHandle><jobName>{name}</jobName>"
        f"{extra}{job}",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findtext(q("jobHandle")) or ""


def logs(call: Callable[..., Reply], account: Account, name: str) -> list[etree._Element]:
    reply = call(
        "getJobLogDetails",
        f"<companyHandle>{account.company_handle}</companyHandle><originalName>{name}</originalName>",
    )
    return reply.payload().findall(f"{q('jobLogArray')}/{q('items')}")


def finished(call: Callable[..., Reply], account: Account, name: str) -> list[etree._Element]:
    return [log for log in logs(call, account, name) if log.findtext(q("endDate"))]


def active(call: Callable[..., Reply], account: Account, name: str) -> list[etree._Element]:
    reply = call(
        "getActiveJobs",
        f"<companyHandle>{account.company_handle}</companyHandle><originalName>{name}</originalName>",
    )
    return reply.payload().findall(f"{q('jobArray')}/{q('items')}")


def trigger_state(call: Callable[..., Reply], handle: str) -> str:
    reply = call("getScheduledJobs", f"<jobHandle>{handle}</jobHandle>")
    return reply.payload().findtext(f"{q('jobArray')}/{q('items')}/{q('triggerState')}") or ""


def detail_types(log: etree._Element) -> list[str]:
    return [i.findtext(q("logType")) or "" for i in log.findall(f"{q('detailArray')}/{q('items')}")]


def control(call: Callable[..., Reply], account: Account, operation: str, handle: str) -> Reply:
    return call(
        operation,
        f"<companyHandle>{account.company_handle}</companyHandle><jobHandle>{handle}</jobHandle>",
    )


def next_fire_time(call: Callable[..., Reply], handle: str) -> datetime:
    reply = call("getScheduledJobs", f"<jobHandle>{handle}</jobHandle>")
    text = reply.payload().findtext(f"{q('jobArray')}/{q('items')}/{q('nextFireTime')}") or ""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_upload_job_runs_at_once_and_leaves_ips_style_logs(soap) -> None:
    account, call = soap
    urls = (
        "<items><sourceUrl>http://example.test/a.jpg</sourceUrl><destPath>f/a.jpg</destPath></items>"
        "<items><sourceUrl>nonsense</sourceUrl><destPath>f/b.jpg</destPath></items>"
    )
    handle = submit(
        call,
        account,
        "upload",
        f"<uploadUrlsJob><urlArray>{urls}</urlArray><overwrite>true</overwrite>"
        "<readyForPublish>true</readyForPublish><createMask>false</createMask>"
        "<emailSetting>All</emailSetting></uploadUrlsJob>",
    )
    [log] = wait_for(lambda: finished(call, account, "upload"))
    assert log.findtext(q("logType")) == "BeginUpload"
    assert log.findtext(q("fileSuccessCount")) == "1"
    assert log.findtext(q("fileErrorCount")) == "1"
    assert log.findtext(q("totalFileCount")) == "2"
    assert log.findtext(q("fatalError")) == "false"
    assert detail_types(log) == [
        "BeginUpload",
        "OriginalJobName",
        "JobClient",
        "UploadSuccess",
        "UploadError",
        "EndUpload",
    ]
    success = log.findall(f"{q('detailArray')}/{q('items')}")[3]
    assert success.findtext(q("assetName")) == "f/a.jpg"
    assert (success.findtext(q("assetHandle")) or "").startswith(f"a|{account.company_id}|")
    end = log.findall(f"{q('detailArray')}/{q('items')}")[-1]
    assert account.email in (end.findtext(q("logMessage")) or "")
    assert active(call, account, "upload") == []
    # It ran once and is no longer scheduled (as Quartz drops a completed trigger).
    reply = call("getScheduledJobs", f"<jobHandle>{handle}</jobHandle>")
    assert reply.status == 200 and reply.payload().find(f"{q('jobArray')}/{q('items')}") is None


def test_publish_job_log_has_sub_type(soap) -> None:
    account, call = soap
    submit(call, account, "publish", PUBLISH)
    [log] = wait_for(lambda: finished(call, account, "publish"))
    assert log.findtext(q("logType")) == "BeginImageServingPublish"
    assert log.findtext(q("jobSubType")) == "full"
    assert detail_types(log)[-1] == "EndImageServingPublish"


def test_export_job_reports_a_download_url(soap, engine_server: Server) -> None:
    account, call = soap
    submit(
        call,
        account,
        "export",
        "<exportJob><assetHandleArray><items>a|1|1|1</items></assetHandleArray>"
        "<fmt>orig</fmt><emailSetting>All</emailSetting></exportJob>",
    )
    [log] = wait_for(lambda: finished(call, account, "export"))
    names = [e.text or "" for e in log.iter(q("assetName"))]
    assert any(name.startswith("http") and ".zip?key=" in name for name in names)


def test_exec_time_job_waits_for_its_time(soap) -> None:
    account, call = soap
    at = datetime.now(UTC) + timedelta(seconds=2)
    local = at.astimezone(datetime.now().astimezone().tzinfo).isoformat(timespec="milliseconds")
    submit(call, account, "later", PUBLISH, f"<execTime>{local}</execTime>")
    assert finished(call, account, "later") == []
    [log] = wait_for(lambda: finished(call, account, "later"), timeout=15)
    started = datetime.fromisoformat((log.findtext(q("startDate")) or "").replace("Z", "+00:00"))
    assert started >= at - timedelta(milliseconds=50)
    assert started - at < timedelta(seconds=2)


def test_recurring_job_fires_again_and_obeys_pause_resume_delete(soap) -> None:
    account, call = soap
    name = "every-second"
    handle = submit(call, account, name, PUBLISH, "<execSchedule>* * * * * ?</execSchedule>")
    wait_for(lambda: len(finished(call, account, name)) >= 2, timeout=15)
    assert trigger_state(call, handle) in ("Normal", "Blocked")

    assert control(call, account, "pauseJob", handle).status == 200
    assert trigger_state(call, handle) == "Paused"
    wait_for(lambda: not active(call, account, name))
    count = len(logs(call, account, name))
    passed = next_fire_time(call, handle) + timedelta(seconds=1.5)
    wait_for(lambda: datetime.now(UTC) > passed, timeout=10)
    assert len(logs(call, account, name)) == count, "a paused job ran"

    assert control(call, account, "resumeJob", handle).status == 200
    wait_for(lambda: len(logs(call, account, name)) > count, timeout=10)
    assert len(logs(call, account, name)) <= count + 2, "missed fire times were made up"

    assert control(call, account, "deleteJob", handle).status == 200
    reply = call("getScheduledJobs", f"<jobHandle>{handle}</jobHandle>")
    assert reply.payload().findall(f"{q('jobArray')}/{q('items')}") == []
    wait_for(lambda: not active(call, account, name))


def test_stop_job_ends_a_running_job_with_a_stopped_log(soap) -> None:
    account, call = soap
    submit(call, account, "slow", SLOW)
    [run] = wait_for(lambda: active(call, account, "slow"))
    assert run.findtext(q("locale")) == "en-US"  # submitted without one, as the real reply shows
    wait_for(lambda: active(call, account, "slow")[0].findtext(q("state")) == "Running")
    run_handle = run.findtext(q("jobHandle")) or ""
    assert control(call, account, "stopJob", run_handle).status == 200
    [log] = wait_for(lambda: finished(call, account, "slow"))
    assert "stopped" in (
        log.findall(f"{q('detailArray')}/{q('items')}")[-1].findtext(q("logMessage")) or ""
    )
    assert active(call, account, "slow") == []
    again = control(call, account, "stopJob", run_handle)
    assert again.status == 500
    assert again.fault()[:2] == ("ipsApiFault", 30000)


def test_execute_job_runs_a_paused_schedule_now(soap) -> None:
    account, call = soap
    name = "nightly"
    handle = submit(call, account, name, PUBLISH, "<execSchedule>0 0 3 * * ?</execSchedule>")
    assert control(call, account, "pauseJob", handle).status == 200
    assert control(call, account, "executeJob", handle).status == 200
    [log] = wait_for(lambda: finished(call, account, name))
    assert log.findtext(q("fatalError")) == "false"
    assert trigger_state(call, handle) == "Paused"


def test_sigkill_mid_run_then_restart_ends_runs_with_fatal_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    env = {**ENGINE_ENV, "IPS_RUN_SECONDS": "60"}
    first = start_server(url, tmp_path / "first.log", **env)
    database = Database(url)
    try:
        account = make_account(SqlJobRepository(database))
        call = caller(first, account)
        handle = submit(call, account, "daily", PUBLISH, "<execSchedule>0 0 3 * * ?</execSchedule>")
        before = next_fire_time(call, handle)
        submit(call, account, "crash", PUBLISH)
        wait_for(
            lambda: [
                r for r in active(call, account, "crash") if r.findtext(q("state")) == "Running"
            ]
        )
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
        first.log_file.close()

        second = start_server(url, tmp_path / "second.log", **env)
        try:
            call = caller(second, account)
            [log] = wait_for(lambda: finished(call, account, "crash"), timeout=20)
            assert log.findtext(q("fatalError")) == "true"
            assert "FatalError" in detail_types(log)
            assert active(call, account, "crash") == []
            assert next_fire_time(call, handle) == before
        finally:
            stop_server(second)
    finally:
        database.dispose()


def test_sqlite_refuses_a_second_engine(engine_server: Server) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ips_jobs", "worker", "--database-url", engine_server.database_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "SQLite allows one engine" in result.stderr
    assert "Traceback" not in result.stderr


def test_graceful_stop_ends_runs_in_flight_with_a_fatal_error(tmp_path: Path) -> None:
    """SIGTERM with a run in progress: the server exits (no hang), and the run is not left
    Running: it ended with a FatalError saying the server was shut down."""
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    server = start_server(url, tmp_path / "server.log", **{**ENGINE_ENV, "IPS_RUN_SECONDS": "60"})
    database = Database(url)
    try:
        account = make_account(SqlJobRepository(database))
        call = caller(server, account)
        submit(call, account, "interrupted", PUBLISH)
        wait_for(
            lambda: [
                r
                for r in active(call, account, "interrupted")
                if r.findtext(q("state")) == "Running"
            ]
        )
        server.process.terminate()
        assert server.process.wait(timeout=60) == 0
        server.log_file.close()
        runs = SqlJobRepository(database).runs(RunQuery([account.company_id]))
        assert [(r.state.value, r.fatal_error) for r in runs] == [("Done", True)]
        assert "shut down" in runs[0].progress_message
    finally:
        if server.process.poll() is None:
            stop_server(server)
        database.dispose()
