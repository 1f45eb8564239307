"""Job names are decided when a job is submitted, getScheduledJobs lists what is scheduled,
and the documentation's pause / resume / execute / stop sequence works by the submit handle."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from conftest import (
    ENGINE_ENV,
    Account,
    Reply,
    Server,
    account_and_caller,
    q,
    server_on_its_own,
    wait_for,
)
from conftest import (
    PUBLISH_JOB as PUBLISH,
)
from lxml import etree

from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository

SLOW = "<videoPublishJob><emailSetting>Error</emailSetting></videoPublishJob>"
Call = Callable[..., Reply]


def company(account: Account) -> str:
    return f"<companyHandle>{account.company_handle}</companyHandle>"


def submit(call: Call, account: Account, name: str, job: str = PUBLISH, extra: str = "") -> Reply:
    return call("submitJob", f"{company(account)}<jobName>{name}</jobName>{extra}{job}")


def handle_of(reply: Reply) -> str:
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findtext(q("jobHandle")) or ""


def fault_code(reply: Reply) -> int:
    assert reply.status == 500, etree.tostring(reply.root)
    return reply.fault()[1]


def scheduled(call: Call, account: Account, inner: str = "") -> list[etree._Element]:
    reply = call("getScheduledJobs", company(account) + inner)
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findall(f"{q('jobArray')}/{q('items')}")


def active(call: Call, account: Account, name: str) -> list[etree._Element]:
    reply = call("getActiveJobs", company(account) + f"<originalName>{name}</originalName>")
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findall(f"{q('jobArray')}/{q('items')}")


def control(call: Call, account: Account, operation: str, handle: str) -> Reply:
    return call(operation, f"{company(account)}<jobHandle>{handle}</jobHandle>")


def later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


# -- names (the session server: no engine, so nothing but the submit itself makes runs) ------
def test_ten_back_to_back_immediate_submissions_all_succeed_each_with_its_run(
    call: Call, account: Account
) -> None:
    handles = [handle_of(submit(call, account, "My Test Job")) for _ in range(10)]
    assert handles == [f"j|{account.company_id}|My Test Job||"] * 10
    runs = active(call, account, "My Test Job")
    names = [run.findtext(q("jobHandle")) for run in runs]
    assert len(set(names)) == 10, names
    assert {run.findtext(q("state")) for run in runs} == {"New"}


@pytest.mark.parametrize(
    "holds",
    [
        f"<execTime>{later(60)}</execTime>",
        "<execSchedule>0 0 3 * * ?</execSchedule>",
    ],
)
def test_a_job_with_a_future_fire_time_holds_its_name_until_deleted(
    call: Call, account: Account, holds: str
) -> None:
    handle = handle_of(submit(call, account, "nightly", extra=holds))
    assert fault_code(submit(call, account, "nightly")) == 30000
    assert fault_code(submit(call, account, "nightly", extra=holds)) == 30000
    assert control(call, account, "deleteJob", handle).status == 200
    assert handle_of(submit(call, account, "nightly")) == handle


def test_a_paused_job_holds_its_name(call: Call, account: Account) -> None:
    handle = handle_of(submit(call, account, "paused", extra=f"<execTime>{later(5)}</execTime>"))
    assert control(call, account, "pauseJob", handle).status == 200
    [job] = scheduled(call, account)
    assert job.findtext(q("triggerState")) == "Paused"
    assert fault_code(submit(call, account, "paused")) == 30000


# -- getScheduledJobs ---------------------------------------------------------------------
def test_get_scheduled_jobs_lists_what_is_scheduled_once(call: Call, account: Account) -> None:
    for _ in range(3):
        handle_of(submit(call, account, "at once"))
    handle_of(submit(call, account, "later", extra=f"<execTime>{later(30)}</execTime>"))
    listed = [job.findtext(q("jobHandle")) for job in scheduled(call, account)]
    assert listed == [f"j|{account.company_id}|later||"]
    fired = f"j|{account.company_id}|at once||"
    assert scheduled(call, account, f"<jobHandle>{fired}</jobHandle>") == []
    assert len(active(call, account, "at once")) == 3  # the runs are still there
    never = call("getScheduledJobs", company(account) + "<jobHandle>j|1|nobody||</jobHandle>")
    assert fault_code(never) == 30001


# -- the documented sequence, on a server whose engine runs ----------------------------------
@pytest.fixture(scope="module")
def engine_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    slow_videos = {**ENGINE_ENV, "IPS_RUN_SECONDS_BY_TYPE": "VideoPublish=6"}
    with server_on_its_own(tmp_path_factory, "controls", **slow_videos) as running:
        yield running


@pytest.fixture
def soap(engine_server: Server) -> Iterator[tuple[Account, Call]]:
    with account_and_caller(engine_server) as soap:
        yield soap


def progress(call: Call, account: Account, name: str) -> list[tuple[str, int]]:
    return [
        (run.findtext(q("state")) or "", int(run.findtext(q("progress")) or 0))
        for run in active(call, account, name)
    ]


def test_the_documented_pause_resume_execute_stop_sequence(soap: tuple[Account, Call]) -> None:
    """Submit, then pause, resume, execute and stop by the submit handle, in the documented
    legacy form `<company>|My Test Job|` (samples/adobedocs-*Job-request.xml)."""
    account, call = soap
    handle_of(submit(call, account, "My Test Job", SLOW))
    documented = f"{account.company_id}|My Test Job|"
    wait_for(lambda: [state for state, _ in progress(call, account, "My Test Job")] == ["Running"])

    assert control(call, account, "pauseJob", documented).status == 200
    held = progress(call, account, "My Test Job")
    time.sleep(4)  # this run steps every 3 s: running, it would have moved on
    assert progress(call, account, "My Test Job") == held

    assert control(call, account, "resumeJob", documented).status == 200
    wait_for(lambda: progress(call, account, "My Test Job") != held, timeout=10)
    wait_for(lambda: active(call, account, "My Test Job") == [], timeout=10)

    assert control(call, account, "executeJob", documented).status == 200
    assert len(active(call, account, "My Test Job")) == 1  # the new run is there at once
    assert control(call, account, "stopJob", documented).status == 200
    wait_for(lambda: active(call, account, "My Test Job") == [], timeout=15)


def test_pause_and_resume_with_nothing_to_do_succeed(soap: tuple[Account, Call]) -> None:
    account, call = soap
    handle = handle_of(submit(call, account, "quick"))
    wait_for(lambda: active(call, account, "quick") == [])
    for operation in ("pauseJob", "resumeJob", "pauseJob", "resumeJob"):
        assert control(call, account, operation, handle).status == 200, operation


def test_a_run_handle_pauses_that_run_alone(soap: tuple[Account, Call]) -> None:
    account, call = soap
    handle_of(submit(call, account, "two runs", SLOW))
    handle_of(submit(call, account, "two runs", SLOW))
    wait_for(lambda: len(progress(call, account, "two runs")) == 2)
    first, second = (r.findtext(q("jobHandle")) or "" for r in active(call, account, "two runs"))
    assert control(call, account, "pauseJob", first).status == 200
    held = {
        r.findtext(q("jobHandle")): r.findtext(q("progress"))
        for r in active(call, account, "two runs")
    }[first]

    def handles() -> list[str]:
        return [r.findtext(q("jobHandle")) or "" for r in active(call, account, "two runs")]

    wait_for(lambda: second not in handles(), timeout=15)  # the other one ran to its end
    [still] = active(call, account, "two runs")
    assert (still.findtext(q("jobHandle")), still.findtext(q("progress"))) == (first, held)
    assert control(call, account, "resumeJob", first).status == 200
    wait_for(lambda: active(call, account, "two runs") == [], timeout=15)


def log_messages(call: Call, account: Account, name: str) -> list[str]:
    reply = call(
        "getJobLogDetails",
        f"{company(account)}<originalName>{name}</originalName>",
    )
    assert reply.status == 200, etree.tostring(reply.root)
    return [m.text or "" for m in reply.payload().iter(q("logMessage"))]


@pytest.mark.parametrize("paused_first", [False, True])
def test_delete_job_stops_its_run_in_progress(
    soap: tuple[Account, Call], paused_first: bool
) -> None:
    """The run ends stopped, at once, not as a success 6 s later (nor held for good when
    the job was paused: its job is gone, so no resumeJob could reach it)."""
    account, call = soap
    handle = handle_of(submit(call, account, "doomed", SLOW))
    wait_for(lambda: [state for state, _ in progress(call, account, "doomed")] == ["Running"])
    if paused_first:
        assert control(call, account, "pauseJob", handle).status == 200
    started = time.monotonic()
    assert control(call, account, "deleteJob", handle).status == 200
    wait_for(lambda: active(call, account, "doomed") == [], timeout=10)
    assert time.monotonic() - started < 3
    assert "Job was stopped by request" in log_messages(call, account, "doomed")


def test_a_run_started_at_submit_names_the_jobs_email_user(
    soap: tuple[Account, Call], engine_server: Server
) -> None:
    account, call = soap
    database = Database(engine_server.database_url)
    try:
        repository = SqlJobRepository(database)
        [alice] = [u for u in repository.users() if u.id == account.user_id]
        bob = repository.add_user(
            f"bob-{account.company_id}@example.test",
            alice.password_hash,
            "IpsUser",
            [account.company_id],
        )
    finally:
        database.dispose()
    user = f"<userHandle>u|{bob.id}|{bob.email}</userHandle>"
    for name, when in (("now", ""), ("soon", f"<execTime>{later(0)}</execTime>")):
        job = PUBLISH.replace("<emailSetting>None<", "<emailSetting>All<")
        request = f"{company(account)}{user}<jobName>{name}</jobName>{when}{job}"
        handle_of(call("submitJob", request))
        wait_for(lambda n=name: any(bob.email in m for m in log_messages(call, account, n)))
