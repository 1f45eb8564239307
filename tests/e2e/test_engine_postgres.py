"""Several engines on PostgreSQL share the work and every due run executes exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from conftest import (
    create_postgres_database,
    drop_postgres_database,
    make_account,
    postgres_base_url,
    wait_for,
)
from sqlalchemy import func, select

from ips_jobs.clock import SystemClock
from ips_jobs.domain.passwords import PasswordChecker
from ips_jobs.domain.service import JobService
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import job_log_details, job_runs, scheduled_jobs

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(postgres_base_url() is None, reason="IPS_TEST_DATABASE_URL is not set"),
]
RUNS = 300
ENGINES = 3


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = postgres_base_url()
    assert base is not None
    url = create_postgres_database(base)
    yield url
    drop_postgres_database(base, url)


def test_three_engines_run_300_due_jobs_exactly_once(pg_url: str) -> None:
    database = Database(pg_url)
    repository = SqlJobRepository(database)
    account = make_account(repository)
    service = JobService(repository, SystemClock(), PasswordChecker(), ZoneInfo("UTC"), "tests")
    caller = service.authenticate(account.email, account.password)
    for n in range(RUNS):
        service.submit(
            caller,
            company_handle=account.company_handle,
            user_handle=None,
            job_name=f"job-{n}",
            locale=None,
            exec_time=None,
            exec_schedule=None,
            description=None,
            job_types={"imageServingPublishJob": {"publishType": "Full", "emailSetting": "None"}},
        )
    env = {
        **os.environ,
        "IPS_DATABASE_URL": pg_url,
        # Short runs, few at a time per engine: one engine alone would take all 300 at once.
        "IPS_RUN_SECONDS": "0.3",
        "IPS_ENGINE_MAX_RUNS": "20",
        "IPS_POLL_SECONDS": "0.05",
        "IPS_LOG_LEVEL": "warning",
    }
    engines = [
        subprocess.Popen([sys.executable, "-m", "ips_jobs", "worker"], env=env)
        for _ in range(ENGINES)
    ]
    try:

        def done() -> int:
            with database.read() as c:
                count = c.execute(
                    select(func.count()).select_from(job_runs).where(job_runs.c.state == "Done")
                ).scalar_one()
            return count if count >= RUNS else 0

        wait_for(done, timeout=120, interval=0.2)
        assert all(engine.poll() is None for engine in engines), "an engine died"
    finally:
        for engine in engines:
            engine.terminate()
        for engine in engines:
            assert engine.wait(timeout=60) == 0
    with database.read() as c:
        runs = c.execute(select(job_runs.c.scheduled_job_id, job_runs.c.claimed_by)).all()
        ends = c.execute(
            select(job_log_details.c.run_id, func.count())
            .where(job_log_details.c.log_type == "EndImageServingPublish")
            .group_by(job_log_details.c.run_id)
        ).all()
        states = c.execute(select(scheduled_jobs.c.trigger_state).distinct()).scalars().all()
    database.dispose()
    assert len(runs) == RUNS
    assert len({job for job, _ in runs}) == RUNS, "a schedule fired twice"
    assert len(ends) == RUNS and all(count == 1 for _, count in ends), "a run executed twice"
    assert states == ["Complete"]
    assert len({engine for _, engine in runs}) >= 2, "the work was not shared"
