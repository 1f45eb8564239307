"""Soak under attack: many SOAP requests, half of them hostile, and what the server keeps.

    python benchmarks/soak.py [--requests 200000] [--clients 8] [--max-seconds 1800]

Starts `python -m ips_jobs serve` as benchmarks/soap_throughput.py does (free port, fresh
temporary SQLite file, the server's default workers and threads, the job engine on with
zero-length runs, the request journal on, INFO logging to a file) with a short body timeout
and a short log retention, creates a company and a user with the CLI, then sends --requests
requests over --clients keep-alive connections (spread over --procs processes). Half the
requests, mixed at random (the same mix in every run), are ordinary: submitJob with a unique
name, getActiveJobs, getJobLogs, getScheduledJobs, as that user. The others are hostile:

- one in --stall-every: a body that stops arriving (Content-Length larger than what is sent),
  answered 408 after --body-timeout seconds, on a connection of its own;
- of the rest, half a distinct unknown `<user>` of --user-bytes characters (the login cache,
  the journal and the log line must not keep it); four in ten bad XML: not XML, unclosed, a
  DOCTYPE with entities, deep nesting, UTF-16 declared over 8-bit bytes, an unknown operation
  or namespace of 1,000 characters; one in ten the real user with a wrong password.

Every reply must be what its kind calls for (200; a fault; 408). At the end it prints the
requests per kind, the peak RSS (VmHWM) of every server process, the database file, its WAL
and its row counts, the runs log retention deleted, and the size and longest line of the
server log. The run stops at --max-seconds whatever is left; the server is stopped and any
process of it still alive is killed (by pid).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.soap_throughput import (  # noqa: E402  (needs ROOT on the path)
    COMMON_NS,
    DEFAULT_API_VERSION,
    SERVICE_PATH,
    SOAP11_NS,
    Account,
    Server,
    _RawTransport,
    active_jobs_envelope,
    cli,
    free_port,
    peak_rss_kib,
    start_process,
    submit_job_envelope,
)

NAMESPACE = f"{COMMON_NS}/{DEFAULT_API_VERSION}"
TARGET_MB = 300
#: Every reply a client gets is checked against what its kind calls for.
Check = Callable[[int, bytes], bool]


# -- the requests ---------------------------------------------------------------------------------
def _envelope(user: str, password: str, body: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_NS}"><soapenv:Header>'
        f'<authHeader xmlns="{COMMON_NS}"><user>{user}</user><password>{password}</password>'
        "<appName>soak</appName><appVersion>1.0</appVersion></authHeader></soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _ok(status: int, data: bytes) -> bool:
    return status == 200 and b"Fault" not in data


def _auth_fault(status: int, data: bytes) -> bool:
    return status == 500 and b"authenticationFault" in data


def _fault(status: int, data: bytes) -> bool:
    return 400 <= status < 600 and b"Fault" in data


def spread(n: int) -> int:
    """A fixed pseudo-random number for request n (the high bits of a Fibonacci hash), so that
    every client sends every kind."""
    return ((n * 0x9E3779B1) & 0xFFFFFFFF) >> 16


def ordinary(account: Account, n: int, client: str) -> tuple[str, bytes, Check]:
    kind = (spread(n) >> 1) % 4
    company = account.company_handle
    if kind == 0:
        body = submit_job_envelope(account, NAMESPACE, f"soak-{client}-{n}")
        return "submitJob", body, _ok
    if kind == 1:
        handle = f"j|{account.company_id}||soak|{n}"
        return "getActiveJobs", active_jobs_envelope(account, NAMESPACE, handle), _ok
    if kind == 2:
        inner = (
            f'<getJobLogsParam xmlns="{NAMESPACE}"><companyHandle>{company}</companyHandle>'
            "<numRows>10</numRows></getJobLogsParam>"
        )
        return "getJobLogs", _envelope(account.email, account.password, inner), _ok
    inner = (
        f'<getScheduledJobsParam xmlns="{NAMESPACE}"><companyHandle>{company}</companyHandle>'
        "</getScheduledJobsParam>"
    )
    return "getScheduledJobs", _envelope(account.email, account.password, inner), _ok


_SUBMIT = (
    f'<submitJobParam xmlns="{NAMESPACE}"><companyHandle>c|1</companyHandle>'
    "<jobName>hostile</jobName><imageServingPublishJob><publishType>Full</publishType>"
    "<emailSetting>None</emailSetting></imageServingPublishJob></submitJobParam>"
)
_LONG = "x" * 1000
_BAD_XML: list[bytes] = [
    b"this is not XML at all",
    _envelope("a@b.c", "pw", _SUBMIT)[:-40],
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
    b"<lolz>&lol2;</lolz>",
    b"<a>" * 5000 + b"</a>" * 5000,
    b'<?xml version="1.0" encoding="UTF-16"?>' + _envelope("a@b.c", "pw", _SUBMIT),
    _envelope("a@b.c", "pw", f'<{_LONG}Param xmlns="{NAMESPACE}"/>'),
    _envelope("a@b.c", "pw", f'<submitJobParam xmlns="urn:{_LONG}"/>'),
]


def hostile(
    account: Account, n: int, user_bytes: int, stall_every: int
) -> tuple[str, bytes, Check]:
    kind = (spread(n) >> 1) % stall_every
    if kind == 0:
        return "stalled body", _envelope(account.email, account.password, _SUBMIT), _stalled
    if kind % 10 < 5:
        user = f"{n}-{uuid.uuid4().hex}@".ljust(user_bytes, "u")
        return "oversized user", _envelope(user, "pw", _SUBMIT), _auth_fault
    if kind % 10 < 9:
        return "bad XML", _BAD_XML[n % len(_BAD_XML)], _fault
    # argon2 checks every wrong password (slow on purpose, one at a time): 1 in 10
    return "wrong password", _envelope(account.email, "wrong", _SUBMIT), _auth_fault


def _stalled(status: int, data: bytes) -> bool:
    return status == 408


def post_stalled(port: int, body: bytes, wait: float) -> tuple[int, bytes]:
    """Half the body of a longer Content-Length, on a connection of its own; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        head = (
            f"POST {SERVICE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: text/xml; charset=UTF-8\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body[: len(body) // 2])
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0].split()
    return (int(status_line[1]) if len(status_line) > 1 else 0), answer


# -- the load generator -------------------------------------------------------------------------
def client_process(
    port: int,
    account: Account,
    clients: list[int],
    total_clients: int,
    args: argparse.Namespace,
    deadline: float,
    results: Any,
) -> None:
    """`clients` keep-alive clients as threads; client c sends requests c, c + N, c + 2N..."""
    counts: Counter[tuple[str, str]] = Counter()
    samples: list[str] = []
    lock = threading.Lock()

    def run(client: int) -> None:
        transport = _RawTransport("127.0.0.1", port, "submitJob")
        mine: Counter[tuple[str, str]] = Counter()
        wrong: list[str] = []
        for n in range(client, args.requests, total_clients):
            if time.time() > deadline:
                break
            if spread(n) % 2 == 0:
                kind, body, check = ordinary(account, n, str(client))
            else:
                kind, body, check = hostile(account, n, args.user_bytes, args.stall_every)
            try:
                if check is _stalled:
                    status, data = post_stalled(port, body, args.body_timeout + 30)
                else:
                    status, data = transport.post(body)
                good = check(status, data)
            except (OSError, ValueError) as exc:
                status, data, good = 0, repr(exc).encode(), False
            mine[kind, "ok" if good else "wrong"] += 1
            if not good and len(wrong) < 3:
                wrong.append(f"{kind}: HTTP {status}: {data[:200]!r}")
        transport.close()
        with lock:
            counts.update(mine)
            samples.extend(wrong[: 5 - len(samples)])

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((dict(counts), samples))


# -- the server -----------------------------------------------------------------------------------
def label(pid: int, server: Server) -> str:
    if pid == server.process.pid:
        return "master"
    workers, engines = server.children()
    if pid in engines:
        return "engine"
    return "worker" if pid in workers else "other"


#: The key under which `sample` keeps the largest sum of every process's PSS.
ALL_PSS = -1


def sample(server: Server, peaks: dict[int, tuple[str, int]]) -> None:
    """Each process's peak RSS, and (under ALL_PSS) the largest sum of their PSS seen: RSS
    counts the pages a forked worker shares with the master once in each process, PSS
    shares them out, so the PSS sum is what the machine gives the service."""
    pss = 0
    for pid in [server.process.pid, *server.children()[0], *server.children()[1]]:
        with contextlib.suppress(OSError):
            peak = max(peaks.get(pid, ("", 0))[1], peak_rss_kib(pid))
            peaks[pid] = (peaks.get(pid, (label(pid, server), 0))[0], peak)
            pss += pss_kib(pid)
    peaks[ALL_PSS] = ("all PSS", max(peaks.get(ALL_PSS, ("", 0))[1], pss))


def pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def database_figures(path: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{path}{suffix}")
        figures[f"file{suffix or ''}"] = file.stat().st_size if file.exists() else 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        for table in ("scheduled_jobs", "job_runs", "job_log_details", "journal"):
            figures[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        figures["free_pages"] = conn.execute("PRAGMA freelist_count").fetchone()[0]
        figures["page_size"] = conn.execute("PRAGMA page_size").fetchone()[0]
    return figures


def log_figures(path: Path) -> dict[str, int]:
    """The server log's size, its longest line, and what log retention said it deleted."""
    figures = {"bytes": path.stat().st_size, "longest_line": 0, "runs_deleted": 0}
    with path.open("rb") as log:
        for line in log:
            figures["longest_line"] = max(figures["longest_line"], len(line))
            if b"log retention: deleted " in line:
                figures["runs_deleted"] += int(line.split(b"deleted ", 1)[1].split()[0])
    return figures


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--max-seconds", type=float, default=1800, help="stop sending then")
    parser.add_argument("--user-bytes", type=int, default=64 * 1024, help="oversized <user>")
    parser.add_argument("--stall-every", type=int, default=50, help="1 hostile in N stalls")
    parser.add_argument("--body-timeout", type=float, default=0.25, help="IPS_BODY_TIMEOUT")
    parser.add_argument(
        "--log-retention", default="0.001", help="IPS_LOG_RETENTION in days (0.001: 86 s)"
    )
    parser.add_argument("--journal-size", type=int, default=1000)
    parser.add_argument("--python", default=sys.executable, help="interpreter for the server")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.clients < 1 or args.procs < 1 or args.stall_every < 5:
        parser.error("--requests, --clients, --procs >= 1 and --stall-every >= 5")
    if not 0 < args.max_seconds <= 4 * 3600 or not 0 < args.body_timeout <= 30:
        parser.error("keep it bounded: --max-seconds <= 14400, 0 < --body-timeout <= 30")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ips-soak-") as tmp:
        folder = Path(tmp)
        database = folder / "soak.db"
        url = f"sqlite:///{database}"
        port = free_port()
        command = [args.python, "-m", "ips_jobs", "serve", "--port", str(port)]
        command += ["--database-url", url, "--log-level", "info"]
        env = {
            "IPS_RUN_SECONDS": "0",
            "IPS_BODY_TIMEOUT": str(args.body_timeout),
            "IPS_LOG_RETENTION": args.log_retention,
            "IPS_JOURNAL_SIZE": str(args.journal_size),
        }
        print(f"starting ips-jobs: {' '.join(command)} ({env})", flush=True)
        server = start_process("ips-jobs", command, port, folder / "server.log", env)
        peaks: dict[int, tuple[str, int]] = {}
        try:
            suffix = uuid.uuid4().hex[:8]
            handle = cli(args.python, url, "companies", "add", f"Soak {suffix}")
            email, password = f"soak-{suffix}@example.test", "soak-password"
            cli(args.python, url, "users", "add", email, "--password", password,
                "--company", f"Soak {suffix}")  # fmt: skip
            account = Account(int(handle.split("|")[1]), email, password)
            procs = min(args.procs, args.clients)
            results: Any = mp.Queue()
            started = time.time()
            deadline = started + args.max_seconds
            loaders = [
                mp.Process(
                    target=client_process,
                    args=(
                        port,
                        account,
                        list(range(p, args.clients, procs)),
                        args.clients,
                        args,
                        deadline,
                        results,
                    ),
                )
                for p in range(procs)
            ]
            for loader in loaders:
                loader.start()
            while any(loader.is_alive() for loader in loaders):
                sample(server, peaks)
                print(f"\r{time.time() - started:6.0f} s", end="", flush=True)
                time.sleep(1)
            elapsed = time.time() - started
            counts: Counter[tuple[str, str]] = Counter()
            samples: list[str] = []
            for _ in loaders:
                got, wrong = results.get(timeout=30)
                counts.update(got)
                samples += wrong
            sample(server, peaks)
            time.sleep(2)  # the journal's last batch
            figures = database_figures(database)
        finally:
            stopped = server.stop()
        log = log_figures(folder / "server.log")
    report(args, counts, samples, elapsed, peaks, figures, log, stopped)
    return 0


def report(
    args: argparse.Namespace,
    counts: Counter[tuple[str, str]],
    samples: list[str],
    elapsed: float,
    peaks: dict[int, tuple[str, int]],
    figures: dict[str, Any],
    log: dict[str, int],
    stopped: dict[str, Any],
) -> None:
    sent = sum(counts.values())
    wrong = sum(n for (_, verdict), n in counts.items() if verdict == "wrong")
    print(f"\nsent {sent} of {args.requests} requests in {elapsed:.0f} s ({sent / elapsed:.0f}/s)")
    for kind in sorted({kind for kind, _ in counts}):
        ok, bad = counts[kind, "ok"], counts[kind, "wrong"]
        print(f"  {kind:<18} {ok + bad:>8} sent, {bad:>6} not answered as expected")
    for line in samples:
        print(f"    e.g. {line}")
    print("peak RSS (VmHWM) per server process:")
    worst = total = 0
    for pid, (name, kib) in sorted(peaks.items()):
        if pid == ALL_PSS:
            continue
        worst, total = max(worst, kib), total + kib
        print(f"  {name:<7} {pid:>7}  {kib / 1024:7.1f} MB")
    verdict = "PASS" if worst / 1024 < TARGET_MB else "MISS"
    print(f"largest: {worst / 1024:.1f} MB -> {verdict} (each < {TARGET_MB} MB)")
    together = peaks.get(ALL_PSS, ("", 0))[1]
    print(
        f"all processes: peak RSS summed {total / 1024:.1f} MiB (shared pages counted in each "
        f"process); largest PSS sum sampled {together / 1024:.1f} MiB"
    )
    mib = 1024 * 1024
    print(
        f"database: {figures['file'] / mib:.1f} MiB (+ WAL {figures['file-wal'] / mib:.1f} MiB, "
        f"{figures['free_pages'] * figures['page_size'] / mib:.1f} MiB of it free pages); "
        f"rows: {figures['scheduled_jobs']} scheduled jobs, {figures['job_runs']} runs, "
        f"{figures['job_log_details']} log rows, {figures['journal']} journal entries"
    )
    print(f"log retention deleted {log['runs_deleted']} runs during the soak")
    print(
        f"server log: {log['bytes'] / mib:.1f} MiB, longest line {log['longest_line']} bytes; "
        f"stop: {stopped}"
    )
    print(f"wrong answers: {wrong}")


if __name__ == "__main__":
    sys.exit(main())
