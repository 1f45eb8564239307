"""SOAP throughput of ips-jobs, end to end, in one bounded run.

    python benchmarks/soap_throughput.py [--duration S] [--clients 8] [--database-url URL]

1. starts `python -m ips_jobs serve` as a user would (free port, fresh temp SQLite file unless
   --database-url is given, --log-level warning, the server's default workers, threads and job
   engine) and creates a company and a user with the CLI;
2. getActiveJobs by jobHandle over --runs stored active (Running) runs, seeded through
   SqlJobRepository.add_run (or one bulk Core insert with --seed-mode bulk); every reply must
   hold exactly the asked-for job. Measured first: the engine works off the jobs of the
   submitJob phase for minutes afterwards and would load this phase;
3. submitJob: N keep-alive clients post submitJob envelopes (authHeader +
   imageServingPublishJob, unique jobName each) for a fixed time after a warm-up; then every
   acknowledged job must be a row of scheduled_jobs;
4. the floors, served as ips-jobs is (gunicorn's arbiter, ips-jobs' uvicorn worker and
   bridge) with the same workers and threads, measured with the same
   clients: benchmarks/bare_handler.py (lxml parse + fixed reply; the 40 % target is against
   this one) and benchmarks/bare_durable_handler.py (the same plus one SQLite row committed
   before the answer: the least a durable submitJob can cost);
5. peak RSS (VmHWM) of every server process; CPU of the servers, the engine, the load
   generator and everything else on the machine during each measured window;
6. prints a table with the targets (PASS/MISS); --json FILE writes the figures.

Every phase is bounded in time and the servers are stopped at the end whatever happens. The
load generator is multiprocessing (--procs processes, the clients spread over them as
threads); each client keeps one connection open: a bare socket speaking HTTP/1.1 (default,
the cheapest) or http.client.HTTPConnection (--client http.client). With --database-url the
database must exist and be disposable: the benchmark adds a company, a user, jobs and runs.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import multiprocessing as mp
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import bare_durable_handler  # noqa: E402  (needs ROOT on the path)

SERVICE_PATH = "/scene7/services/IpsApiService"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
COMMON_NS = "http://www.scene7.com/IpsApi/xsd"
DEFAULT_API_VERSION = "2014-04-03"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# The targets this benchmark checks (docs/performance.md).
TARGET_SUBMIT_RATE = 1000.0  # durable submitJob requests per second
TARGET_SUBMIT_P99_MS = 20.0
TARGET_SHARE_OF_BARE = 0.40


# -- envelopes ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    company_id: int
    email: str
    password: str

    @property
    def company_handle(self) -> str:
        return f"c|{self.company_id}"


def _envelope(account: Account, body: str) -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_NS}">'
        "<soapenv:Header>"
        f'<authHeader xmlns="{COMMON_NS}">'
        f"<user>{account.email}</user><password>{account.password}</password>"
        "<appName>soap_throughput</appName><appVersion>1.0</appVersion>"
        "</authHeader>"
        "</soapenv:Header>"
        f"<soapenv:Body>{body}</soapenv:Body>"
        "</soapenv:Envelope>"
    ).encode()


def submit_job_envelope(account: Account, namespace: str, job_name: str) -> bytes:
    """A realistic submitJob: authHeader + imageServingPublishJob, as IPS clients send it."""
    return _envelope(
        account,
        f'<submitJobParam xmlns="{namespace}">'
        f"<companyHandle>{account.company_handle}</companyHandle>"
        f"<jobName>{job_name}</jobName>"
        "<locale>en_US</locale>"
        "<description>nightly publish from the throughput benchmark</description>"
        "<imageServingPublishJob>"
        "<publishType>Full</publishType>"
        "<emailSetting>Error</emailSetting>"
        "</imageServingPublishJob>"
        "</submitJobParam>",
    )


def active_jobs_envelope(account: Account, namespace: str, job_handle: str) -> bytes:
    return _envelope(
        account,
        f'<getActiveJobsParam xmlns="{namespace}">'
        f"<companyHandle>{account.company_handle}</companyHandle>"
        f"<jobHandle>{job_handle}</jobHandle>"
        "</getActiveJobsParam>",
    )


# -- the load generator ------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadSpec:
    """What every load-generator process needs; pickled to each of them."""

    kind: str  # "submit", "active", or a key of FLOOR_APPS
    host: str
    port: int
    account: Account
    namespace: str
    warmup: float
    duration: float
    runs: tuple[tuple[str, int], ...] = ()  # (runName, runId) for "active"
    label: str = ""
    client: str = "raw"  # or "http.client"


@dataclass
class ProcResult:
    latencies_ms: list[float] = field(default_factory=list)  # completed inside the window
    errors: int = 0  # inside the window
    errors_total: int = 0
    requests_total: int = 0
    acked: list[str] = field(default_factory=list)  # submitJob: every acknowledged jobName
    cpu_seconds: float = 0.0  # this process's user+sys during the window
    error_samples: list[str] = field(default_factory=list)


class _HttpClientTransport:
    """http.client.HTTPConnection: what a Python SOAP client (zeep, suds) sits on."""

    def __init__(self, host: str, port: int, soap_action: str) -> None:
        self.host, self.port = host, port
        self.headers = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": soap_action}
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def post(self, body: bytes) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", SERVICE_PATH, body, self.headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = self._connect()
            raise

    def close(self) -> None:
        self.conn.close()


class _RawTransport:
    """HTTP/1.1 keep-alive over a bare socket: the cheapest client Python can be, so that
    the load generator takes as little of the machine's CPU as it can."""

    def __init__(self, host: str, port: int, soap_action: str) -> None:
        self.host, self.port = host, port
        self.head = (
            f"POST {SERVICE_PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: text/xml; charset=UTF-8\r\nSOAPAction: {soap_action}\r\n"
        )
        self.sock = self._connect()
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def post(self, body: bytes) -> tuple[int, bytes]:
        try:
            self.sock.sendall(f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            return self._response()
        except (OSError, ValueError):
            self.sock.close()
            self.sock, self.buffer = self._connect(), b""
            raise

    def _response(self) -> tuple[int, bytes]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields_ = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        length = int(fields_.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        data, self.buffer = self.buffer[:length], self.buffer[length:]
        if fields_.get("connection", "").lower() == "close":
            self.sock.close()
            self.sock, self.buffer = self._connect(), b""
        return status, data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class _Client:
    """One client: one persistent HTTP/1.1 connection, requests one after the other."""

    def __init__(self, spec: LoadSpec, index: int, result: ProcResult, lock: threading.Lock):
        self.spec = spec
        self.index = index
        self.result = result
        self.lock = lock
        self.rng = random.Random(f"{spec.label}-{os.getpid()}-{index}")
        transport = _RawTransport if spec.client == "raw" else _HttpClientTransport
        action = "getActiveJobs" if spec.kind == "active" else "submitJob"
        self.transport = transport(spec.host, spec.port, action)
        self.prefix = f"bench-{spec.label}-{os.getpid()}-{index}-"

    def request(self, seq: int) -> tuple[bytes, Callable[[bytes], bool], str | None]:
        spec = self.spec
        if spec.kind == "active":
            name, run_id = self.rng.choice(spec.runs)
            handle = f"j|{spec.account.company_id}||{name}|{run_id}"
            wanted = f"<jobHandle>{handle}</jobHandle>".encode()

            def one_job(data: bytes) -> bool:
                return data.count(b"<jobHandle>") == 1 and wanted in data

            return active_jobs_envelope(spec.account, spec.namespace, handle), one_job, None
        job_name = f"{self.prefix}{seq}"
        body = submit_job_envelope(spec.account, spec.namespace, job_name)
        if spec.kind == "bare":
            return body, lambda data: b"<jobHandle>" in data, None
        if spec.kind == "bare_durable":
            return body, lambda data: b"<jobHandle>" in data, job_name
        wanted = f"<jobHandle>j|{spec.account.company_id}|{job_name}||</jobHandle>".encode()
        return body, lambda data: wanted in data, job_name

    def run(self, start_at: float) -> None:
        spec = self.spec
        window_start = start_at + spec.warmup
        window_end = window_start + spec.duration
        latencies: list[float] = []
        acked: list[str] = []
        errors = errors_total = total = 0
        samples: list[str] = []
        seq = 0
        _sleep_until(start_at)
        while time.perf_counter() < window_end:
            seq += 1
            body, check, job_name = self.request(seq)
            began = time.perf_counter()
            problem: str | None = None
            try:
                status, data = self.transport.post(body)
                if status != 200 or not check(data):
                    problem = f"HTTP {status}: {data[:300]!r}"
            except (OSError, ValueError, http.client.HTTPException) as exc:
                problem = f"{exc.__class__.__name__}: {exc}"
            ended = time.perf_counter()
            total += 1
            inside = window_start <= ended <= window_end
            if problem is None:
                if job_name is not None:
                    acked.append(job_name)
                if inside:
                    latencies.append((ended - began) * 1000.0)
            else:
                errors_total += 1
                errors += inside
                if len(samples) < 3:
                    samples.append(problem)
        self.transport.close()
        with self.lock:
            self.result.latencies_ms.extend(latencies)
            self.result.acked.extend(acked)
            self.result.errors += errors
            self.result.errors_total += errors_total
            self.result.requests_total += total
            self.result.error_samples.extend(samples[: 3 - len(self.result.error_samples)])


def _sleep_until(moment: float) -> None:
    delay = moment - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def load_process(
    spec: LoadSpec,
    threads: int,
    barrier: Barrier,
    start_value: Synchronized,  # type: ignore[type-arg]
    results: Any,
) -> None:
    """One load-generator process: `threads` clients, started together at the shared instant."""
    result = ProcResult()
    lock = threading.Lock()
    try:
        clients = [_Client(spec, i, result, lock) for i in range(threads)]
    except OSError as exc:
        barrier.abort()
        results.put({"error": f"cannot connect: {exc}"})
        return
    barrier.wait(timeout=60)  # every client connected
    barrier.wait(timeout=60)  # the start instant is set
    start_at = float(start_value.value)
    workers = [threading.Thread(target=c.run, args=(start_at,)) for c in clients]
    for worker in workers:
        worker.start()
    _sleep_until(start_at + spec.warmup)
    cpu_before = _cpu_seconds()
    _sleep_until(start_at + spec.warmup + spec.duration)
    result.cpu_seconds = _cpu_seconds() - cpu_before
    for worker in workers:
        worker.join()
    results.put(asdict(result))


# -- processes: servers, their pids, RSS and CPU ------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """root and its descendants (gunicorn: the master and its workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def postgres_pids() -> list[int]:
    """The PostgreSQL server's processes on this machine (its CPU is the database's share)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/comm").read_text().strip() == "postgres":
                    found.append(int(entry))
            except OSError:
                continue
    return found


def cpu_of(pids: Sequence[int]) -> float:
    """user+sys seconds used so far by these processes."""
    total = 0
    for pid in pids:
        try:
            fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields_[11]) + int(fields_[12])
    return total / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = float(sum(values[:8]))  # user nice system idle iowait irq softirq steal
    return total - values[3] - values[4], total


def wait_for_quiet(limit: float, busy_below: float = 0.15) -> float:
    """Waits (at most `limit` seconds) until the machine is nearly idle over one second; the
    benchmark shares it with whatever else runs. Returns the last busy share seen."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_cpu()
        time.sleep(1.0)
        after = machine_cpu()
        busy = (after[0] - before[0]) / max(1.0, after[1] - before[1])
        if busy < busy_below or time.monotonic() >= deadline:
            return busy
        print(f"  machine {busy:.0%} busy: waiting for it to quieten ...", flush=True)


def peak_rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def children(self) -> tuple[list[int], list[int]]:
        """(HTTP workers, engine processes): the master's descendants, split by command."""
        workers: list[int] = []
        engines: list[int] = []
        for pid in process_tree(self.process.pid):
            if pid == self.process.pid:
                continue
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            (engines if b"worker" in argv and b"ips_jobs" in argv else workers).append(pid)
        return workers, engines

    def http_pids(self) -> list[int]:
        return [self.process.pid, *self.children()[0]]

    def memory(self) -> dict[str, Any]:
        worker_pids, engine_pids = self.children()
        workers = {pid: peak_rss_kib(pid) for pid in worker_pids}
        engines = sum(peak_rss_kib(pid) for pid in engine_pids)
        master = peak_rss_kib(self.process.pid)
        return {
            "master_peak_rss_mib": round(master / 1024, 1),
            "worker_peak_rss_mib": {str(pid): round(k / 1024, 1) for pid, k in workers.items()},
            "max_worker_peak_rss_mib": round(max(workers.values(), default=0) / 1024, 1),
            "sum_peak_rss_mib": round((master + sum(workers.values())) / 1024, 1),
            "engine_peak_rss_mib": round(engines / 1024, 1),
        }

    def stop(self) -> dict[str, Any]:
        """SIGTERM to the master, as Ctrl-C would; then makes sure nothing of it survives:
        the master waits up to 30 s for its engine, so it gets 45 s, and any process of its
        tree still alive after that is killed (by pid) and reported."""
        tree = process_tree(self.process.pid) if self.process.poll() is None else []
        began = time.monotonic()
        forced = False
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                forced = True
                self.process.kill()
                self.process.wait()
        seconds = time.monotonic() - began
        survivors = [pid for pid in tree if pid != self.process.pid and _alive(pid)]
        for pid in survivors:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return {
            "stop_seconds": round(seconds, 1),
            "master_killed": forced,
            "survivors_killed": len(survivors),
        }


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_process(
    name: str, command: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
) -> Server:
    """Starts a server (with `env` added to ours) and waits (30 s at most) until GET / answers
    200."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
        )
    server = Server(name, process, port, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{server.log_tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/")
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                # all workers up, not just the first one to accept
                time.sleep(0.5)
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not answer within 30 s:\n{server.log_tail()}")


def cli(python: str, database_url: str, *args: str) -> str:
    done = subprocess.run(
        [python, "-m", "ips_jobs", *args, "--database-url", database_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"ips-jobs {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


# -- one measured phase --------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    clients: int
    procs: int
    duration: float
    requests: int = 0
    errors: int = 0
    errors_total: int = 0
    requests_total: int = 0
    rate: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    loadgen_cpu_share: float = 0.0  # of all cores, during the window
    server_cpu_share: float = 0.0  # gunicorn master + HTTP workers
    engine_cpu_share: float = 0.0  # the `ips-jobs worker` job engine beside them
    postgres_cpu_share: float = 0.0  # every `postgres` process on the machine
    other_cpu_share: float = 0.0  # everything else on the machine: the runs are not alone
    #: Each HTTP process (master first) as a share of one core: keep-alive clients stay with
    #: the worker that accepted them, so a worker that got most of them caps the rate.
    http_process_core_shares: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def _percentile(ordered: Sequence[float], fraction: float) -> float:
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(fraction * len(ordered)))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def measure(
    spec: LoadSpec, clients: int, procs: int, server: Server, quiet_wait: float = 0.0
) -> tuple[Phase, list[str]]:
    """Runs the clients over `procs` processes; returns the figures and the acked jobNames."""
    if quiet_wait > 0:
        wait_for_quiet(quiet_wait)
    procs = max(1, min(procs, clients))
    per_proc = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(procs + 1)
    start_value = ctx.Value("d", 0.0)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=load_process, args=(spec, n, barrier, start_value, results))
        for n in per_proc
    ]
    for worker in workers:
        worker.start()
    collected: list[dict[str, Any]] = []
    try:
        barrier.wait(timeout=60)
        start_value.value = time.perf_counter() + 0.2
        barrier.wait(timeout=60)
        start_at = float(start_value.value)
        http_pids, engine_pids = server.http_pids(), server.children()[1]
        _sleep_until(start_at + spec.warmup)
        db_pids = postgres_pids()
        server_cpu, machine_before = cpu_of(http_pids), machine_cpu()
        each_before = [cpu_of([pid]) for pid in http_pids]
        engine_cpu, db_cpu = cpu_of(engine_pids), cpu_of(db_pids)
        _sleep_until(start_at + spec.warmup + spec.duration)
        server_cpu = cpu_of(http_pids) - server_cpu
        each = [cpu_of([pid]) - before for pid, before in zip(http_pids, each_before, strict=True)]
        engine_cpu = cpu_of(engine_pids) - engine_cpu
        db_cpu = cpu_of(db_pids) - db_cpu
        machine_after = machine_cpu()
        busy_share = (machine_after[0] - machine_before[0]) / max(
            1.0, machine_after[1] - machine_before[1]
        )
        deadline = time.monotonic() + 60
        while len(collected) < procs and time.monotonic() < deadline:
            collected.append(results.get(timeout=max(0.1, deadline - time.monotonic())))
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    failed = [c["error"] for c in collected if "error" in c]
    if failed or len(collected) < procs:
        raise RuntimeError(f"load generator failed: {failed or 'no result'}")
    latencies = sorted(x for c in collected for x in c["latencies_ms"])
    cores = os.cpu_count() or 1
    loadgen_share = sum(c["cpu_seconds"] for c in collected) / (spec.duration * cores)
    server_share = server_cpu / (spec.duration * cores)
    engine_share = engine_cpu / (spec.duration * cores)
    db_share = db_cpu / (spec.duration * cores)
    phase = Phase(
        name=spec.label,
        clients=clients,
        procs=procs,
        duration=spec.duration,
        requests=len(latencies),
        errors=sum(c["errors"] for c in collected),
        errors_total=sum(c["errors_total"] for c in collected),
        requests_total=sum(c["requests_total"] for c in collected),
        rate=len(latencies) / spec.duration,
        p50_ms=_percentile(latencies, 0.50),
        p90_ms=_percentile(latencies, 0.90),
        p99_ms=_percentile(latencies, 0.99),
        max_ms=latencies[-1] if latencies else 0.0,
        loadgen_cpu_share=loadgen_share,
        server_cpu_share=server_share,
        engine_cpu_share=engine_share,
        postgres_cpu_share=db_share,
        other_cpu_share=max(
            0.0, busy_share - loadgen_share - server_share - engine_share - db_share
        ),
        error_samples=[s for c in collected for s in c["error_samples"]][:5],
        http_process_core_shares=[round(seconds / spec.duration, 2) for seconds in each],
    )
    return phase, [name for c in collected for name in c["acked"]]


# -- the database side ---------------------------------------------------------------------------
def stored_job_names(database_url: str, company_id: int) -> list[str]:
    from sqlalchemy import select

    from ips_jobs.store.database import Database
    from ips_jobs.store.tables import scheduled_jobs

    database = Database(database_url)
    try:
        with database.read() as conn:
            rows = conn.execute(
                select(scheduled_jobs.c.name).where(scheduled_jobs.c.company_id == company_id)
            )
            return [row.name for row in rows]
    finally:
        database.dispose()


def seed_runs(
    database_url: str, account: Account, count: int, mode: str
) -> tuple[list[tuple[str, int]], float]:
    """`count` active (Running) runs for the company; returns (runName, runId) and seconds."""
    from sqlalchemy import insert, select

    from ips_jobs.domain.jobs import Run, RunState, TaskProgress
    from ips_jobs.store import repository as store
    from ips_jobs.store.database import Database
    from ips_jobs.store.repository import SqlJobRepository
    from ips_jobs.store.tables import job_runs

    now = datetime.now(UTC)
    detail = {"publishType": "Full", "emailSetting": "Error", "httpCompletionUrl": ""}

    def run(i: int) -> Run:
        started = now - timedelta(seconds=count - i)
        return Run(
            id=0,
            company_id=account.company_id,
            scheduled_job_id=None,
            name=f"bench-run-{i:06d}",
            original_name=f"bench nightly publish {i % 50}",
            kind="imageServingPublishJob",
            detail=detail,
            submit_user_email=account.email,
            locale="en_US",
            description="seeded by benchmarks/soap_throughput.py",
            state=RunState.RUNNING,
            server_name="ips-jobs-bench",
            trigger_time=started,
            start_date=started,
            total_size=1024 * i,
            progress=i % 100,
            progress_message="Publishing",
            last_progress_update=started,
            tasks=(
                TaskProgress("ImageServingPublish", "Running", i % 100, 1, 10, 0.5, "", started),
            ),
        )

    database = Database(database_url)
    began = time.perf_counter()
    try:
        if mode == "add_run":
            repository = SqlJobRepository(database)
            stored = [repository.add_run(run(i)) for i in range(count)]
            pairs = [(r.name, r.id) for r in stored]
        else:
            # the repository's own Run -> row mapping (its name has changed over time)
            values = getattr(store, "run_values", None) or store._run_values  # type: ignore
            with database.write() as conn:
                conn.execute(insert(job_runs), [values(run(i)) for i in range(count)])
                rows = conn.execute(
                    select(job_runs.c.name, job_runs.c.id).where(
                        job_runs.c.company_id == account.company_id
                    )
                )
                pairs = [(row.name, row.id) for row in rows]
    finally:
        database.dispose()
    return pairs, time.perf_counter() - began


# -- the run --------------------------------------------------------------------------------------
def server_settings(workers: int | None, threads: int | None) -> tuple[int, int]:
    from ips_jobs.config import Settings

    defaults = Settings.from_env()
    return workers or defaults.workers, threads or defaults.threads


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "ips_jobs"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        head, dirty = "", []
    return {
        "code": (head or "?") + (f" + {len(dirty)} changed files in ips_jobs/" if dirty else ""),
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    python = args.python
    workers, threads = server_settings(args.workers, args.threads)
    namespace = f"{COMMON_NS}/{args.api_version}"
    report: dict[str, Any] = {
        "machine": machine(),
        "config": {
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "clients": args.clients,
            "loadgen": f"{min(args.procs, args.clients)} processes x threads, one "
            f"{'HTTPConnection' if args.client == 'http.client' else 'raw socket'} "
            "(keep-alive) per client",
            "server_workers": workers,
            "server_threads": threads,
            "api_version": args.api_version,
            "runs": args.runs,
            "seed_mode": args.seed_mode,
            "engine": "server default" if args.engine is None else args.engine,
        },
        "phases": {},
    }
    with tempfile.TemporaryDirectory(prefix="ips-bench-") as tmp:
        folder = Path(tmp)
        database_url = args.database_url or f"sqlite:///{folder / 'ips.db'}"
        report["config"]["database"] = database_url.split("://", 1)[0]
        port = free_port()
        command = [python, "-m", "ips_jobs", "serve", "--port", str(port)]
        command += ["--database-url", database_url, "--log-level", "warning"]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.engine is not None:
            command += ["--engine" if args.engine else "--no-engine"]
        print(f"starting ips-jobs: {' '.join(command)}", flush=True)
        server = start_process("ips-jobs", command, port, folder / "server.log")
        try:
            suffix = uuid.uuid4().hex[:8]
            company = f"Bench {suffix}"
            handle = cli(python, database_url, "companies", "add", company)
            email, password = f"bench-{suffix}@example.test", "bench-password"
            cli(python, database_url, "users", "add", email, "--password", password,
                "--company", company)  # fmt: skip
            account = Account(int(handle.split("|")[1]), email, password)
            print(f"account {email} in {handle}", flush=True)

            # 3. getActiveJobs by jobHandle. Measured before submitJob: the engine works
            # off the jobs submitJob leaves behind for minutes, and would load this phase.
            print(f"seeding {args.runs} active runs ({args.seed_mode}) ...", flush=True)
            runs, seconds = seed_runs(database_url, account, args.runs, args.seed_mode)
            print(f"  {len(runs)} runs in {seconds:.1f} s", flush=True)
            spec = LoadSpec(
                "active", "127.0.0.1", port, account, namespace, args.warmup, args.duration,
                tuple(runs), label="getActiveJobs", client=args.client,
            )  # fmt: skip
            print(f"getActiveJobs: {args.warmup:g} s warm-up + {args.duration:g} s ...", flush=True)
            active, _ = measure(spec, args.clients, args.procs, server, args.wait_idle)
            active.extra = {"stored_runs": len(runs), "seed_seconds": round(seconds, 2)}

            # 2. submitJob
            spec = LoadSpec(
                "submit", "127.0.0.1", port, account, namespace, args.warmup, args.duration,
                label="submitJob", client=args.client,
            )  # fmt: skip
            print(f"submitJob: {args.warmup:g} s warm-up + {args.duration:g} s ...", flush=True)
            submit, acked = measure(spec, args.clients, args.procs, server, args.wait_idle)
            stored = stored_job_names(database_url, account.company_id)
            missing = set(acked) - set(stored)
            submit.extra = {
                "acknowledged": len(acked),
                "stored_rows": len(stored),
                "missing": len(missing),
                "durable": len(acked) == len(stored) and not missing,
            }
            report["phases"]["submitJob"] = asdict(submit)
            report["phases"]["getActiveJobs"] = asdict(active)
            report["memory"] = {"ips-jobs": server.memory()}
        except BaseException:
            print(f"--- ips-jobs log ---\n{server.log_tail()}", file=sys.stderr)
            raise
        finally:
            print("stopping ips-jobs ...", flush=True)
            report["shutdown"] = {"ips-jobs": server.stop()}

        # 4. the floors
        if not args.skip_bare:
            floor_phase(report, args, "bare lxml", "bare", folder, account, namespace)
            floor_db = str(folder / "floor.db")
            bare_durable_handler.create(floor_db)
            floor_phase(
                report, args, "bare + insert", "bare_durable", folder, account, namespace,
                env={"BARE_DATABASE": floor_db},
            )  # fmt: skip
            rows = bare_durable_handler.stored(floor_db)
            floor = report["phases"]["bare + insert"]
            acked = floor["extra"].pop("acked")
            floor["extra"].update(
                {"acknowledged": acked, "stored_rows": rows, "durable": rows >= acked}
            )
    report["targets"] = targets(report)
    return report


FLOOR_APPS = {
    "bare": "benchmarks.bare_handler:asgi",
    "bare_durable": "benchmarks.bare_durable_handler:asgi",
}


def floor_phase(
    report: dict[str, Any],
    args: argparse.Namespace,
    name: str,
    kind: str,
    folder: Path,
    account: Account,
    namespace: str,
    env: dict[str, str] | None = None,
) -> None:
    """Serves a floor handler exactly as ips-jobs is served and measures it the same way."""
    workers, threads = server_settings(args.workers, args.threads)
    port = free_port()
    command = [args.python, "-m", "gunicorn", "-k", "ips_jobs.server.HttpWorker"]
    command += ["-w", str(workers), "--keep-alive", "30", "-b"]
    command += [f"127.0.0.1:{port}", "--log-level", "warning", FLOOR_APPS[kind]]
    env = {**(env or {}), "IPS_THREADS": str(threads)}
    print(f"starting {name}: {' '.join(command)}", flush=True)
    server = start_process(name, command, port, folder / f"{kind}.log", env)
    try:
        spec = LoadSpec(
            kind, "127.0.0.1", port, account, namespace, args.warmup, args.duration,
            label=kind, client=args.client,
        )  # fmt: skip
        print(f"{name}: {args.warmup:g} s warm-up + {args.duration:g} s ...", flush=True)
        phase, acked = measure(spec, args.clients, args.procs, server, args.wait_idle)
        phase.extra = {"acked": len(acked)}
        report["phases"][name] = asdict(phase)
        report["memory"][name] = server.memory()
    finally:
        report["shutdown"][name] = server.stop()


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    submit = report["phases"]["submitJob"]
    durable_rate = submit["rate"] if submit["extra"]["durable"] and not submit["errors"] else 0.0
    checks: list[dict[str, Any]] = [
        {
            "target": f"submitJob >= {TARGET_SUBMIT_RATE:,.0f} req/s, durable, no errors",
            "value": f"{durable_rate:,.0f} req/s",
            "pass": durable_rate >= TARGET_SUBMIT_RATE,
        },
        {
            "target": f"submitJob p99 < {TARGET_SUBMIT_P99_MS:g} ms",
            "value": f"{submit['p99_ms']:.1f} ms",
            "pass": submit["p99_ms"] < TARGET_SUBMIT_P99_MS,
        },
    ]
    bare = report["phases"].get("bare lxml")
    if bare:
        share = submit["rate"] / bare["rate"] if bare["rate"] else 0.0
        checks.append(
            {
                "target": f"submitJob >= {TARGET_SHARE_OF_BARE:.0%} of the bare handler",
                "value": f"{share:.1%}",
                "pass": share >= TARGET_SHARE_OF_BARE,
            }
        )
    return checks


def uneven_phases(phases: dict[str, dict[str, Any]]) -> list[str]:
    """Phases in which one worker did less than half the work of another. Each client keeps
    one connection, and which worker accepts it is the kernel's draw: now and then most of
    them land on one worker, and the phase measures that worker alone."""
    uneven = []
    for name, phase in phases.items():
        workers = phase["http_process_core_shares"][1:]
        if len(workers) > 1 and min(workers) < max(workers) / 2:
            uneven.append(name)
    return uneven


def print_report(report: dict[str, Any]) -> None:
    cfg, m = report["config"], report["machine"]
    print()
    print(
        f"machine: {m['nproc']} x {m['cpu_model']}; Python {m['python']}; database "
        f"{cfg['database']}; server {cfg['server_workers']} workers x "
        f"{cfg['server_threads']} threads, engine {cfg['engine']}; code {m['code']}"
    )
    print(
        f"load: {cfg['clients']} keep-alive clients ({cfg['loadgen']}); "
        f"{cfg['warmup_s']:g} s warm-up, {cfg['duration_s']:g} s measured"
    )
    header = (
        f"{'phase':<14}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'errors':>8}{'HTTP':>7}{'engine':>8}{'postgres':>10}{'loadgen':>9}{'other':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, p in report["phases"].items():
        print(
            f"{name:<14}{p['rate']:>9,.0f}{p['p50_ms']:>9.2f}{p['p90_ms']:>9.2f}"
            f"{p['p99_ms']:>9.2f}{p['max_ms']:>9.1f}{p['errors']:>8}"
            f"{p['server_cpu_share']:>7.0%}{p['engine_cpu_share']:>8.0%}"
            f"{p['postgres_cpu_share']:>10.0%}{p['loadgen_cpu_share']:>9.0%}"
            f"{p['other_cpu_share']:>7.0%}"
        )
    print(
        "Last five columns: CPU as a share of all cores in the measured window. HTTP: gunicorn "
        "master + workers; engine: `ips-jobs worker`;\npostgres: every postgres process; "
        "loadgen: the clients; other: everything else on the machine (other users)."
    )
    for name, p in report["phases"].items():
        shares = ", ".join(f"{share:.2f}" for share in p["http_process_core_shares"])
        print(f"{name}: CPU of each HTTP process (master first), in cores: {shares}")
    for name in uneven_phases(report["phases"]):
        print(
            f"WARNING: {name}: the keep-alive connections landed unevenly on the workers (one "
            "used under half the CPU of another): that rate is of fewer workers; run again"
        )
    if any(p["other_cpu_share"] > 0.10 for p in report["phases"].values()):
        print("WARNING: other processes used more than 10% of the machine: figures are low")
    submit = report["phases"]["submitJob"]["extra"]
    print(
        f"durability: {submit['acknowledged']} submitJob acknowledged, "
        f"{submit['stored_rows']} rows in scheduled_jobs, {submit['missing']} missing -> "
        f"{'OK' if submit['durable'] else 'FAILED'}"
    )
    floor = report["phases"].get("bare + insert")
    if floor:
        rate = report["phases"]["submitJob"]["rate"]
        print(
            f"bare + insert (the least a durable submitJob costs): "
            f"{floor['extra']['acknowledged']} acknowledged, {floor['extra']['stored_rows']} "
            f"rows -> {'OK' if floor['extra']['durable'] else 'FAILED'}; submitJob runs at "
            f"{rate / floor['rate']:.1%} of it"
            if floor["rate"]
            else ""
        )
    active = report["phases"]["getActiveJobs"]["extra"]
    print(f"getActiveJobs over {active['stored_runs']} active runs (seeded in "
          f"{active['seed_seconds']} s with {report['config']['seed_mode']})")  # fmt: skip
    for name, mem in report.get("memory", {}).items():
        print(
            f"peak RSS {name}: master {mem['master_peak_rss_mib']} MiB, max worker "
            f"{mem['max_worker_peak_rss_mib']} MiB, sum {mem['sum_peak_rss_mib']} MiB"
            + (f"; engine {mem['engine_peak_rss_mib']} MiB" if mem["engine_peak_rss_mib"] else "")
        )
    for name, stop in report.get("shutdown", {}).items():
        if stop["master_killed"] or stop["survivors_killed"] or stop["stop_seconds"] > 10:
            print(
                f"shutdown {name}: {stop['stop_seconds']} s after SIGTERM; master killed: "
                f"{stop['master_killed']}; processes left behind and killed: "
                f"{stop['survivors_killed']}"
            )
    for name, p in report["phases"].items():
        for sample in p["error_samples"]:
            print(f"error sample ({name}): {sample}")
    print()
    for check in report["targets"]:
        print(f"{'PASS' if check['pass'] else 'MISS'}  {check['target']}: {check['value']}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument(
        "--procs", type=int, default=2, help="load-generator processes (clients spread over them)"
    )
    parser.add_argument(
        "--database-url", default=None, help="default: a fresh temporary SQLite file"
    )
    parser.add_argument("--workers", type=int, default=None, help="server workers (default 2)")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker (def. 8)")
    parser.add_argument(
        "--engine",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pass --engine/--no-engine to serve (default: the server's, on)",
    )
    parser.add_argument(
        "--client",
        choices=("raw", "http.client"),
        default="raw",
        help="load generator transport: a bare keep-alive socket (default: about 4x less CPU "
        "per request) or http.client.HTTPConnection",
    )
    parser.add_argument("--runs", type=int, default=10_000, help="active runs for getActiveJobs")
    parser.add_argument("--seed-mode", choices=("add_run", "bulk"), default="add_run")
    parser.add_argument("--api-version", default=DEFAULT_API_VERSION)
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="before each phase wait up to S seconds for the machine to be < 15%% busy",
    )
    parser.add_argument("--skip-bare", action="store_true", help="skip the bare lxml floor")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the servers")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or args.clients < 1 or args.procs < 1:
        parser.error("--duration > 0, --warmup >= 0, --clients >= 1 and --procs >= 1")
    if args.duration > 600 or args.warmup > 120 or not 0 <= args.wait_idle <= 600:
        parser.error("keep it bounded: --duration <= 600, --warmup <= 120, --wait-idle <= 600")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print_report(report)
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
