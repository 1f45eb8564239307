"""CPU cost of one SOAP request through the ips-jobs WSGI app, in process: no HTTP, no
gunicorn, no job engine, one thread. What is left is what every request costs the server.

    python benchmarks/profile_requests.py [--requests 1000] [--database-url URL] [--top 30]

For submitJob and getActiveJobs (by jobHandle, over --runs seeded active runs) it prints the
wall and CPU time per request without a profiler, then the cProfile top functions (cumulative
and own time). --out DIR also writes the .pstats files (for snakeviz, pstats, ...).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import soap_throughput as bench


def _call(app: Callable[..., Iterable[bytes]], body: bytes) -> bytes:
    environ: dict[str, Any] = {
        "PATH_INFO": bench.SERVICE_PATH,
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "text/xml; charset=UTF-8",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    statuses: list[str] = []
    data = b"".join(app(environ, lambda status, _headers: statuses.append(status)))
    if not statuses or not statuses[0].startswith("200"):
        raise RuntimeError(f"{statuses}: {data[:300]!r}")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1000, help="per operation and pass")
    parser.add_argument("--runs", type=int, default=10_000, help="active runs to seed")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None, help="write .pstats files here")
    args = parser.parse_args(argv)

    from ips_jobs import app
    from ips_jobs.config import Settings

    with tempfile.TemporaryDirectory(prefix="ips-profile-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/ips.db"
        settings = Settings(database_url=url, log_level="warning", seed_demo=False)
        app.prepare(settings)
        parts = app.parts(settings)
        suffix = uuid.uuid4().hex[:8]
        company = parts.admin.add_company(f"Profile {suffix}")
        email, password = f"profile-{suffix}@example.test", "profile-password"
        parts.admin.add_user(email, password, "IpsUser", [company.name])
        account = bench.Account(company.id, email, password)
        runs, _ = bench.seed_runs(url, account, args.runs, "bulk")
        wsgi = app.wsgi_app(settings)
        namespace = f"{bench.COMMON_NS}/{bench.DEFAULT_API_VERSION}"
        rng = random.Random(1)

        def submit(i: int) -> bytes:
            return bench.submit_job_envelope(account, namespace, f"profile-{suffix}-{i}")

        def active(_i: int) -> bytes:
            name, run_id = rng.choice(runs)
            handle = f"j|{company.id}||{name}|{run_id}"
            return bench.active_jobs_envelope(account, namespace, handle)

        makers: dict[str, Callable[[int], bytes]] = {"submitJob": submit, "getActiveJobs": active}
        for operation, make in makers.items():
            for i in range(50):  # warm caches: password check, schema, statement cache
                _call(wsgi, make(10_000_000 + i))
            plain = [make(i) for i in range(args.requests)]
            profiled = [make(args.requests + i) for i in range(args.requests)]
            wall, cpu = time.perf_counter(), time.process_time()
            for body in plain:
                _call(wsgi, body)
            wall = (time.perf_counter() - wall) / args.requests * 1000
            cpu = (time.process_time() - cpu) / args.requests * 1000
            print(f"=== {operation}: {wall:.2f} ms wall, {cpu:.2f} ms CPU per request")
            profile = cProfile.Profile()
            profile.enable()
            for body in profiled:
                _call(wsgi, body)
            profile.disable()
            stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs()
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)
            if args.out is not None:
                args.out.mkdir(parents=True, exist_ok=True)
                stats.dump_stats(args.out / f"{operation}.pstats")
        parts.database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
