"""How fast the job engine starts and finishes runs, in one bounded run.

    python benchmarks/engine_latency.py [--runs 1000] [--throughput-runs 3000] [--singles 30]
                                        [--postgres URL]

For SQLite (one engine, the only kind it allows) and, with --postgres (a server URL such as
postgresql+psycopg://postgres@127.0.0.1:5432/test; a fresh database is made and dropped on it),
for one and for three engine processes (`python -m ips_jobs worker`, as a user starts them):

1. single due runs: one job at a time, due 0.3-0.6 s ahead; start delay = the run's start
   date minus its fire time (p50/p99 over --singles runs);
2. a burst: --runs jobs all due at the same second; start delay p50/p99/max;
3. throughput: --throughput-runs zero-duration jobs already due when the engines start;
   runs completed per second from the first start to the last end.

Targets (printed PASS/MISS): single-run p99 < 250 ms; burst p99 < 5 s; >= 300 runs/s on SQLite.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from ips_jobs.clock import SystemClock
from ips_jobs.domain.admin import Admin
from ips_jobs.domain.jobs import TriggerState
from ips_jobs.store import migrations
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import job_runs, scheduled_jobs

DETAIL = {"publishType": "Full", "emailSetting": "None", "httpCompletionUrl": ""}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    def __init__(self, url: str, engines: int) -> None:
        self.url = url
        self.engines = engines
        migrations.upgrade(url)
        self.database = Database(url)
        admin = Admin(SqlJobRepository(self.database), SystemClock())
        suffix = uuid.uuid4().hex[:8]
        company = admin.add_company(f"Bench {suffix}")
        self.user = admin.add_user(f"bench-{suffix}@example.test", "pw", "IpsUser", [company.name])
        self.company_id = company.id

    def schedule(self, count: int, due: datetime, prefix: str) -> None:
        """Inserts `count` one-off jobs due at `due`, in one statement."""
        rows = [
            {
                "company_id": self.company_id,
                "name": f"{prefix}-{n}",
                "kind": "imageServingPublishJob",
                "detail": DETAIL,
                "submit_user_id": self.user.id,
                "email_user_id": self.user.id,
                "time_zone": "UTC",
                "next_fire_time": due,
                "trigger_state": TriggerState.NORMAL.value,
                "created_at": datetime.now(UTC),
            }
            for n in range(count)
        ]
        with self.database.write() as c:
            c.execute(insert(scheduled_jobs), rows)

    def done(self, prefix: str) -> list[tuple[datetime, datetime, datetime]]:
        """(fire time, start date, end date) of the finished runs of jobs named prefix-*."""
        with self.database.read() as c:
            rows = c.execute(
                select(job_runs.c.trigger_time, job_runs.c.start_date, job_runs.c.end_date).where(
                    job_runs.c.original_name.like(f"{prefix}-%"), job_runs.c.state == "Done"
                )
            ).all()
        return [(r[0], r[1], r[2]) for r in rows]

    def wait_done(self, prefix: str, count: int, timeout: float) -> list[tuple[datetime, ...]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.done(prefix)
            if len(rows) >= count:
                return rows
            time.sleep(0.05)
        raise SystemExit(f"only {len(self.done(prefix))}/{count} runs of {prefix} finished")

    @contextmanager
    def running_engines(self) -> Iterator[None]:
        env = {
            **os.environ,
            "IPS_DATABASE_URL": self.url,
            "IPS_RUN_SECONDS": "0",
            "IPS_LOG_LEVEL": "warning",
        }
        procs = [
            subprocess.Popen([sys.executable, "-m", "ips_jobs", "worker"], env=env)
            for _ in range(self.engines)
        ]
        try:
            deadline = time.monotonic() + 60
            while self._alive() < self.engines and time.monotonic() < deadline:
                time.sleep(0.1)
            yield
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)

    def _alive(self) -> int:
        with self.database.read() as c:
            return c.execute(text("SELECT count(*) FROM engine_processes")).scalar_one()


def delays_ms(rows: list[tuple[datetime, ...]]) -> list[float]:
    return [(start - fire).total_seconds() * 1000 for fire, start, _end in rows]


def run_case(url: str, engines: int, args: argparse.Namespace) -> dict[str, float]:
    bench = Bench(url, engines)
    figures: dict[str, float] = {}
    with bench.running_engines():
        singles: list[float] = []
        for n in range(args.singles):
            prefix = f"single{n}"
            bench.schedule(1, datetime.now(UTC) + timedelta(seconds=0.3 + (n % 4) * 0.1), prefix)
            singles += delays_ms(bench.wait_done(prefix, 1, 30))
        figures["single p50 ms"] = statistics.median(singles)
        figures["single p99 ms"] = percentile(singles, 0.99)

        due = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
        bench.schedule(args.runs, due, "burst")
        burst = delays_ms(bench.wait_done("burst", args.runs, 300))
        figures["burst p50 ms"] = statistics.median(burst)
        figures["burst p99 ms"] = percentile(burst, 0.99)
        figures["burst max ms"] = max(burst)

    bench.schedule(args.throughput_runs, datetime.now(UTC) - timedelta(seconds=1), "bulk")
    with bench.running_engines():
        rows = bench.wait_done("bulk", args.throughput_runs, 600)
    first = min(start for _f, start, _e in rows)
    last = max(end for _f, _s, end in rows)
    figures["runs/s"] = len(rows) / max((last - first).total_seconds(), 1e-6)
    with bench.database.read() as c:
        figures["runs"] = c.execute(select(func.count()).select_from(job_runs)).scalar_one()
    bench.database.dispose()
    return figures


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    base = make_url(server_url)
    name = f"ipsjobs_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--throughput-runs", type=int, default=3000)
    parser.add_argument("--singles", type=int, default=30)
    parser.add_argument("--postgres", metavar="URL")
    args = parser.parse_args()
    cases: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        cases.append(("SQLite, 1 engine", run_case(url, 1, args)))
    if args.postgres:
        for engines in (1, 3):
            with postgres_database(args.postgres) as url:
                cases.append((f"PostgreSQL, {engines} engine(s)", run_case(url, engines, args)))
    print(
        f"\n{'case':<26}{'single p50':>11}{'single p99':>11}{'burst p50':>11}"
        f"{'burst p99':>11}{'burst max':>11}{'runs/s':>9}"
    )
    for name, f in cases:
        print(
            f"{name:<26}{f['single p50 ms']:>9.0f}ms{f['single p99 ms']:>9.0f}ms"
            f"{f['burst p50 ms']:>9.0f}ms{f['burst p99 ms']:>9.0f}ms{f['burst max ms']:>9.0f}ms"
            f"{f['runs/s']:>9.0f}"
        )
    print("\ntargets:")
    for name, f in cases:
        print(
            f"  {name}: single p99 < 250 ms {verdict(f['single p99 ms'] < 250)}; "
            f"burst of {args.runs} p99 < 5 s {verdict(f['burst p99 ms'] < 5000)}"
            + (f"; >= 300 runs/s {verdict(f['runs/s'] >= 300)}" if "SQLite" in name else "")
        )


if __name__ == "__main__":
    main()
