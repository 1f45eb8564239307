"""Log retention: the engine deletes runs that ended more than IPS_LOG_RETENTION days ago,
with their log rows, in small transactions; runs in progress and scheduled jobs stay, and 0
keeps everything. Runs and log rows would otherwise pile up forever (a run a second is
about 250 MiB a day)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import (
    NS,
    Account,
    Reply,
    Server,
    caller,
    detail_row,
    make_account,
    seed_run,
    start_server,
    stop_server,
    wait_for,
)
from lxml import etree
from sqlalchemy import func, select

from ips_jobs import app
from ips_jobs.clock import SystemClock
from ips_jobs.config import Settings
from ips_jobs.domain.jobs import LogCounts, Run, RunState
from ips_jobs.domain.passwords import PasswordChecker
from ips_jobs.domain.service import JobService
from ips_jobs.engine.scheduler import Engine
from ips_jobs.store.claim import DETAIL_BATCH
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import job_log_details, job_runs, scheduled_jobs

DAY = timedelta(days=1)


def engine(database_url: str, days: float) -> Engine:
    """The engine as `serve` builds it (not started: the tests run its retention pass)."""
    return app.engine(replace(Settings(), database_url=database_url, log_retention=days))


@dataclass
class Seeded:
    old: list[Run]
    kept: list[Run]
    schedule_id: int


def ended(repository: SqlJobRepository, account: Account, name: str, end: datetime) -> Run:
    start = end - timedelta(minutes=5)
    run = seed_run(
        repository, account, name, start, state=RunState.DONE, end=end, counts=LogCounts()
    )
    repository.add_log_details(
        [detail_row(run, 0, "BeginUpload", "begin"), detail_row(run, 1, "EndUpload", "end")]
    )
    return run


def seed(repository: SqlJobRepository) -> Seeded:
    """Old ended runs (one of a recurring schedule, one with more log rows than a
    transaction deletes), and runs that must stay: recent ones and old ones in progress."""
    account = make_account(repository)
    now = datetime.now(UTC)
    service = JobService(repository, SystemClock(), PasswordChecker(), ZoneInfo("UTC"), "tests")
    user = service.authenticate(account.email, account.password)
    service.submit(
        user,
        company_handle=account.company_handle,
        user_handle=None,
        job_name="nightly",
        locale=None,
        exec_time=None,
        exec_schedule="0 0 3 * * ?",
        description=None,
        job_types={"imageServingPublishJob": {"publishType": "Full"}},
    )
    schedule = repository.scheduled_job(account.company_id, "nightly")
    assert schedule is not None
    old = [
        ended(repository, account, "nightly", now - 40 * DAY),
        ended(repository, account, "once", now - 31 * DAY),
        ended(repository, account, "chatty", now - 60 * DAY),
    ]
    repository.add_log_details(
        [detail_row(old[2], 2, "UploadSuccess", f"file {n}") for n in range(DETAIL_BATCH + 7)]
    )
    kept = [
        ended(repository, account, "nightly", now - 29 * DAY),
        ended(repository, account, "once", now - timedelta(minutes=1)),
        seed_run(repository, account, "long", now - 90 * DAY, state=RunState.RUNNING),
        seed_run(repository, account, "halting", now - 90 * DAY, state=RunState.STOPPING),
        seed_run(repository, account, "waiting", now - 90 * DAY, state=RunState.NEW),
    ]
    return Seeded(old, kept, schedule.id)


def stored(repository: SqlJobRepository) -> tuple[set[int], dict[int, int], set[int]]:
    """(run ids, log rows per run id, scheduled job ids) in the database."""
    with repository.db.read() as c:
        runs = set(c.execute(select(job_runs.c.id)).scalars())
        details = dict(
            c.execute(
                select(job_log_details.c.run_id, func.count()).group_by(job_log_details.c.run_id)
            ).all()
        )
        schedules = set(c.execute(select(scheduled_jobs.c.id)).scalars())
    return runs, details, schedules


def test_runs_that_ended_before_the_retention_period_go_with_their_log_rows(
    repository: SqlJobRepository, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    seeded = seed(repository)
    runs_before, details_before, _ = stored(repository)
    assert details_before[seeded.old[2].id] == DETAIL_BATCH + 9
    retaining = engine(database_url, 30)
    try:
        with caplog.at_level(logging.INFO, logger="ips_jobs.engine"):
            assert retaining.retain() == len(seeded.old)
            assert retaining.retain() == 0  # nothing more to do
    finally:
        retaining.store.db.dispose()
    runs, details, schedules = stored(repository)
    gone = {run.id for run in seeded.old}
    assert runs == runs_before - gone
    assert {run.id for run in seeded.kept} <= runs
    assert not gone & details.keys()
    assert details == {k: n for k, n in details_before.items() if k not in gone}
    assert seeded.schedule_id in schedules  # the schedule whose old run went stays
    [line] = [r.getMessage() for r in caplog.records if "log retention" in r.getMessage()]
    assert line.startswith("log retention: deleted 3 run(s) that ended before ")
    assert line.endswith(f"with {2 + 2 + DETAIL_BATCH + 9} log row(s)")


def test_a_one_off_job_goes_with_its_last_run(
    repository: SqlJobRepository, database_url: str
) -> None:
    """An immediate submitJob leaves a Complete job row that no operation shows: it goes
    when retention deletes its run, and a job that will fire again stays."""
    account = make_account(repository)
    service = JobService(repository, SystemClock(), PasswordChecker(), ZoneInfo("UTC"), "tests")
    user = service.authenticate(account.email, account.password)
    for name, schedule in (("one-off", None), ("nightly", "0 0 3 * * ?")):
        service.submit(
            user,
            company_handle=account.company_handle,
            user_handle=None,
            job_name=name,
            locale=None,
            exec_time=None,
            exec_schedule=schedule,
            description=None,
            job_types={"imageServingPublishJob": {"publishType": "Full"}},
        )
    one_off = repository.scheduled_job(account.company_id, "one-off")
    nightly = repository.scheduled_job(account.company_id, "nightly")
    assert one_off is not None and nightly is not None
    long_ago = datetime.now(UTC) - 40 * DAY
    old_nightly = ended(repository, account, "nightly", long_ago)
    with repository.db.write() as c:
        c.execute(
            job_runs.update()
            .where(job_runs.c.scheduled_job_id == one_off.id)
            .values(state=RunState.DONE.value, start_date=long_ago, end_date=long_ago)
        )
        c.execute(
            job_runs.update()
            .where(job_runs.c.id == old_nightly.id)
            .values(scheduled_job_id=nightly.id)
        )
    retaining = engine(database_url, 30)
    try:
        assert retaining.retain() == 2
    finally:
        retaining.store.db.dispose()
    _, _, schedules = stored(repository)
    assert one_off.id not in schedules
    assert nightly.id in schedules


def test_zero_keeps_everything(repository: SqlJobRepository, database_url: str) -> None:
    seed(repository)
    before = stored(repository)
    keeping = engine(database_url, 0)
    try:
        assert keeping.retention is None
        assert keeping.retain() == 0
    finally:
        keeping.store.db.dispose()
    assert stored(repository) == before


def test_the_store_reads_runs_a_stretch_at_a_time(
    repository: SqlJobRepository, database_url: str
) -> None:
    """A pass reads bounded stretches of the primary key, so a huge table costs each pass the
    same, and the next read starts where the last one stopped."""
    seeded = seed(repository)
    retaining = engine(database_url, 30)
    store = retaining.store
    cutoff = datetime.now(UTC) - 30 * DAY
    try:
        ids = sorted(stored(repository)[0])
        first, after = store.expired_runs(cutoff, 0, 4)
        assert after == ids[3] and first == [r.id for r in seeded.old if r.id <= ids[3]]
        rest, end = store.expired_runs(cutoff, after, len(ids))
        assert end is None and first + rest == [r.id for r in seeded.old]
        # A run that is not (or no longer) expired is not deleted, whatever the caller asks.
        kept = [r.id for r in seeded.kept]
        assert store.delete_runs(kept, cutoff) == (0, 0)
    finally:
        retaining.store.db.dispose()
    assert set(kept) <= stored(repository)[0]


def test_engines_retaining_at_once_delete_each_run_once(
    repository: SqlJobRepository, database_url: str
) -> None:
    """On PostgreSQL several engines run the pass at the same time; none fails and together
    they delete every expired run once (on SQLite the second engine's writes queue)."""
    account = make_account(repository)
    now = datetime.now(UTC)
    old = [ended(repository, account, f"job-{n}", now - 40 * DAY) for n in range(60)]
    engines = [engine(database_url, 30) for _ in range(3)]
    deleted: list[int] = []
    try:
        threads = [threading.Thread(target=lambda e=e: deleted.append(e.retain())) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        for each in engines:
            each.store.db.dispose()
    assert sum(deleted) == len(old)
    assert not {run.id for run in old} & stored(repository)[0]


def job_logs(call: Callable[..., Reply], company: str) -> list[etree._Element]:
    reply = call("getJobLogs", f"<companyHandle>{company}</companyHandle>")
    assert reply.status == 200, etree.tostring(reply.root)
    return reply.payload().findall(f"{{{NS}}}jobLogArray/{{{NS}}}items")


def test_a_finished_jobs_log_leaves_get_job_logs_after_the_retention_period(
    tmp_path: Path,
) -> None:
    server: Server = start_server(
        f"sqlite:///{tmp_path / 'ips.db'}",
        tmp_path / "server.log",
        IPS_ENGINE="true",
        IPS_RUN_SECONDS="0",
        IPS_POLL_SECONDS="0.05",
        IPS_LOG_RETENTION="0.00003",  # 2.6 s
    )
    try:
        database = Database(server.database_url)
        try:
            account = make_account(SqlJobRepository(database))
        finally:
            database.dispose()
        call = caller(server, account)
        reply = call(
            "submitJob",
            f"<companyHandle>{account.company_handle}</companyHandle><jobName>brief</jobName>"
            "<imageServingPublishJob><publishType>Full</publishType>"
            "<emailSetting>None</emailSetting></imageServingPublishJob>",
        )
        assert reply.status == 200
        [log] = wait_for(
            lambda: [
                item
                for item in job_logs(call, account.company_handle)
                if item.findtext(f"{{{NS}}}endDate")
            ]
        )
        assert log.findtext(f"{{{NS}}}originalJobName") == "brief"
        wait_for(lambda: not job_logs(call, account.company_handle) or None, timeout=30)
        assert "log retention: deleted 1 run(s)" in server.log()
    finally:
        stop_server(server)
