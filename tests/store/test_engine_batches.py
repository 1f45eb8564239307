"""The engine works in batches: a burst of due jobs is done in a few transactions, and a run
that breaks inside a batch ends with a FatalError while the others in its batch finish."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import make_account, wait_for
from sqlalchemy import event, func, select, update

from ips_jobs import app
from ips_jobs.clock import SystemClock
from ips_jobs.config import Settings
from ips_jobs.domain.jobs import Run
from ips_jobs.domain.passwords import PasswordChecker
from ips_jobs.domain.service import JobService
from ips_jobs.engine.executor import Durations, Executor
from ips_jobs.engine.runners import Plan, Planner, SimulatedPlanner
from ips_jobs.engine.scheduler import Engine
from ips_jobs.store.claim import EngineStore
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import job_log_details, job_runs, scheduled_jobs

JOBS = 200


class BreaksOn(Planner):
    """The simulated plans, except that planning the run of job `name` raises."""

    def __init__(self, inner: Planner, name: str) -> None:
        self.inner = inner
        self.name = name

    def plan(self, run: Run) -> Plan:
        if run.original_name == self.name:
            raise RuntimeError("a runner bug")
        return self.inner.plan(run)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _submit(database: Database, names: list[str]) -> None:
    """Jobs due a moment from now, returning once they are due: the engine fires them (a job
    with no future fire time would start its run at submit, without the engine)."""
    repository = SqlJobRepository(database)
    service = JobService(repository, SystemClock(), PasswordChecker(), ZoneInfo("UTC"), "tests")
    account = make_account(repository)
    caller = service.authenticate(account.email, account.password)
    due = datetime.now(UTC) + timedelta(seconds=0.3)
    for name in names:
        service.submit(
            caller,
            company_handle=account.company_handle,
            user_handle=None,
            job_name=name,
            locale=None,
            exec_time=due,
            exec_schedule=None,
            description=None,
            # a job whose runs are simulated: publish jobs write to the asset store besides
            job_types={"optimizeImagesJob": {"emailSetting": "None"}},
        )
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))


@contextmanager
def running(engine: Engine) -> Iterator[Engine]:
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()
        engine.store.db.dispose()


def _engine(database_url: str, planner: Planner | None = None, seconds: float = 0) -> Engine:
    settings = replace(Settings(), database_url=database_url, run_seconds=seconds)
    built = app.engine(settings)
    if planner is None:
        return built
    store = EngineStore(built.store.db)
    executor = Executor(store, planner, SystemClock(), Durations(0, {}), built.executor.process_id)
    return Engine(
        store,
        executor,
        SystemClock(),
        ZoneInfo("UTC"),
        built.lock,
        threads=2,
        poll_seconds=0.05,
        heartbeat_timeout=15,
        shared=not store.db.is_sqlite,
    )


def _done(database: Database, count: int) -> list[tuple[str, bool]] | None:
    with database.read() as c:
        rows = c.execute(
            select(job_runs.c.original_name, job_runs.c.fatal_error).where(
                job_runs.c.state == "Done"
            )
        ).all()
    return [tuple(r) for r in rows] if len(rows) >= count else None  # type: ignore[misc]


def test_a_burst_of_due_jobs_is_written_in_a_few_transactions(
    database: Database, database_url: str
) -> None:
    _submit(database, [f"job-{n}" for n in range(JOBS)])
    engine = _engine(database_url)
    commits = 0

    def count(_conn: object) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine.store.db._engine, "commit", count)
    with running(engine):
        done = wait_for(lambda: _done(database, JOBS), timeout=60)
    assert sorted(name for name, _ in done) == sorted(f"job-{n}" for n in range(JOBS))
    assert not any(fatal for _, fatal in done)
    with database.read() as c:
        ends = c.execute(
            select(func.count()).where(job_log_details.c.log_type == "endReoptimize")
        ).scalar_one()
    assert ends == JOBS
    # Fire, claim and end: one transaction per batch each, plus the polls' reads. A run
    # with a transaction of its own for each of its steps would need over 2 * JOBS.
    assert commits < JOBS / 2, commits


def test_a_run_that_breaks_ends_fatally_and_its_batch_finishes(
    database: Database, database_url: str
) -> None:
    names = [f"job-{n}" for n in range(20)]
    _submit(database, names)
    with running(_engine(database_url, BreaksOn(SimulatedPlanner("http://x"), "job-7"))):
        done = dict(wait_for(lambda: _done(database, len(names)), timeout=60))
    assert done.pop("job-7") is True
    assert set(done) == set(names) - {"job-7"} and not any(done.values())
    with database.read() as c:
        message = c.execute(
            select(job_log_details.c.log_message)
            .join(job_runs, job_runs.c.id == job_log_details.c.run_id)
            .where(job_runs.c.original_name == "job-7", job_log_details.c.log_type == "FatalError")
        ).scalar_one()
    assert message == "The job failed inside the emulator"


def _running(database: Database, count: int) -> int | None:
    with database.read() as c:
        found = c.execute(
            select(func.count()).where(job_runs.c.state == "Running", job_runs.c.step >= 1)
        ).scalar_one()
    return found if found >= count else None


def test_stopping_ends_every_run_in_flight_in_a_few_transactions(
    database: Database, database_url: str
) -> None:
    _submit(database, [f"job-{n}" for n in range(JOBS)])
    engine = _engine(database_url, seconds=600)
    engine.start()
    try:
        wait_for(lambda: _running(database, JOBS), timeout=60)
    finally:
        commits = 0

        def count(_conn: object) -> None:
            nonlocal commits
            commits += 1

        event.listen(engine.store.db._engine, "commit", count)
        engine.stop()
        engine.store.db.dispose()
    done = _done(database, JOBS)
    assert done is not None and len(done) == JOBS and all(fatal for _, fatal in done)
    with database.read() as c:
        messages = c.execute(
            select(job_log_details.c.log_message).where(job_log_details.c.log_type == "FatalError")
        ).scalars()
        assert set(messages) == {"The server was shut down while the job was running"}
    assert commits < JOBS / 10, commits


def test_a_schedule_paused_while_the_engine_fires_it_makes_no_run(database: Database) -> None:
    """The engine reads due schedules before it takes the write lock; a change committed in
    between (here a pause, as pauseJob makes it) must win over the schedule as read."""
    _submit(database, ["paused-meanwhile"])
    store = EngineStore(Database(database.url))
    made: list[int] = []
    with database.write() as c:
        c.execute(update(scheduled_jobs).values(trigger_state="Paused"))
        firing = threading.Thread(
            target=lambda: made.append(
                store.fire_due(datetime.now(UTC), ZoneInfo("UTC"), "test", 10)
            )
        )
        firing.start()
        firing.join(timeout=0.5)
        assert firing.is_alive()  # it read the schedule as due, and waits to write
    firing.join(timeout=30)
    store.db.dispose()
    assert made == [0]
    with database.read() as c:
        assert c.execute(select(func.count()).select_from(job_runs)).scalar_one() == 0
        assert c.execute(select(scheduled_jobs.c.trigger_state)).scalar_one() == "Paused"
