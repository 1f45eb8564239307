"""CPU the job engine spends per job, in process, with no HTTP server competing for the cores.

    python benchmarks/engine_cpu.py [--seconds 6] [--rate 1000] [--run-seconds 0.3]
                                    [--database-url URL] [--profile 30]

Jobs arrive as they do in soap_throughput.py's submitJob phase (--rate one-off jobs per
second, due at once, in batches every 0.1 s) and run --run-seconds each (IPS_RUN_SECONDS; the
default 0.3 s keeps the plan's three steps). The engine's turns run in this thread, so the
figure is the thread's CPU time over the turns that fired, claimed, stepped and ended every
job, divided by the jobs. --profile N adds cProfile's top N functions (slower, inflated).
The figure moves with the machine: compare two versions back to back, several times each.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_latency import Bench

from ips_jobs import app
from ips_jobs.config import Settings
from ips_jobs.store.tables import job_runs

TICK_SECONDS = 0.1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=6.0, help="how long jobs arrive")
    parser.add_argument("--rate", type=int, default=1000, help="jobs per second")
    parser.add_argument("--run-seconds", type=float, default=0.3, help="each run's duration")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="cProfile top N")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ips-engine-cpu-") as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'ips.db'}"
        bench = Bench(url, engines=1)
        settings = Settings(
            database_url=url, log_level="warning", seed_demo=False, run_seconds=args.run_seconds
        )
        engine = app.engine(settings)
        engine.lock.acquire()
        engine.store.register(engine.process_id, "engine-cpu", 0, datetime.now(UTC))
        profiler = cProfile.Profile() if args.profile else None
        cpu = 0.0

        def turn() -> None:
            nonlocal cpu
            started = time.thread_time()
            if profiler:
                profiler.enable()
            engine.poll()
            if profiler:
                profiler.disable()
            cpu += time.thread_time() - started

        per_tick = max(1, round(args.rate * TICK_SECONDS))
        ticks = round(args.seconds / TICK_SECONDS)
        begin = time.monotonic()
        for tick in range(ticks):
            bench.schedule(per_tick, datetime.now(UTC), f"t{tick}")
            turn()
            time.sleep(max(0.0, begin + (tick + 1) * TICK_SECONDS - time.monotonic()))
        jobs = ticks * per_tick
        deadline = time.monotonic() + 60 + 10 * args.run_seconds
        done = 0
        while done < jobs and time.monotonic() < deadline:
            turn()
            with bench.database.read() as c:
                done = c.execute(
                    select(func.count()).select_from(job_runs).where(job_runs.c.state == "Done")
                ).scalar_one()
            time.sleep(TICK_SECONDS)
        engine.store.unregister(engine.process_id)
        engine.lock.release()
        bench.database.dispose()

    print(
        f"{jobs} jobs ({done} done), {args.run_seconds} s each: engine CPU {cpu:.2f} s, "
        f"{1000 * cpu / max(1, jobs):.3f} ms per job"
    )
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.profile)
        stats.sort_stats("tottime").print_stats(args.profile)
    if done < jobs:
        raise SystemExit(f"only {done} of {jobs} jobs finished")


if __name__ == "__main__":
    main()
