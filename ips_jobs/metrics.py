"""Prometheus metrics, served at GET /_ips/metrics in the Prometheus text format.

Counters and histograms are kept per process by prometheus-client. `ips-jobs serve` runs it in
multiprocess mode: it points PROMETHEUS_MULTIPROC_DIR at a fresh temporary directory (unless
the variable is already set) before its workers and its engine process start, every process
writes its values to files there, and a scrape, whichever worker answers it, adds them all up.
Without that variable (an `ips-jobs worker` alone, tests in one process) the values stay in the
process. The gauges (runs by type and state, queue depth, live engines) are read from the
database at scrape time, so they are right whichever process is asked.

prometheus-client picks its value store when it is first imported, from the environment, so it
is imported lazily here: only after `serve` has set the directory up."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import SQLAlchemyError

from ips_jobs.clock import Clock
from ips_jobs.domain.jobs import JOB_TYPES, Run, RunState, TriggerState
from ips_jobs.store.database import Database
from ips_jobs.store.tables import engine_processes, job_runs, scheduled_jobs

if TYPE_CHECKING:
    from ips_jobs.control.routes import Request
    from ips_jobs.wire.soap import Outcome

log = logging.getLogger("ips_jobs.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The classic text format (generate_latest); the control plane adds the charset.
CONTENT_TYPE = "text/plain; version=0.0.4"
#: SOAP calls take from about a millisecond to a few seconds (injected latency included).
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: From a run's trigger time to its claim: one poll (0.1 s) normally, more when the engine
#: is busy, down or was started late.
DELAY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
RESULTS = ("done", "fatal", "stopped")
#: Run states and types always reported by ips_runs (0 when there are none).
_STATES = tuple(state.value for state in RunState)
_TYPES = (*JOB_TYPES.values(), "UploadPost")


# -- multiprocess mode ----------------------------------------------------------------------
def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def setup_multiprocess() -> Callable[[], None]:
    """Called by `serve` before anything forks: makes a fresh directory for the values of its
    processes (unless PROMETHEUS_MULTIPROC_DIR names one), and returns what removes it again
    (in the process that made it; forked workers leave it alone)."""
    given = multiprocess_dir()
    if given is not None:
        os.makedirs(given, exist_ok=True)
        log.info("metrics of all processes are kept in %s (%s)", given, MULTIPROC_ENV)
        return lambda: None
    path = tempfile.mkdtemp(prefix="ips-jobs-metrics-")
    os.environ[MULTIPROC_ENV] = path
    owner = os.getpid()

    def cleanup() -> None:
        if os.getpid() == owner:
            shutil.rmtree(path, ignore_errors=True)

    return cleanup


def process_dead(pid: int) -> None:
    """Gunicorn's child_exit: forgets what a dead process kept only while alive."""
    path = multiprocess_dir()
    if path is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path)


# -- the process's instruments --------------------------------------------------------------
@dataclass(frozen=True)
class _Instruments:
    registry: Any  # this process's own CollectorRegistry (used without multiprocess mode)
    requests: Any
    request_seconds: Any
    runs: Any
    start_delay: Any


_made: _Instruments | None = None
_making = threading.Lock()


def _instruments() -> _Instruments:
    global _made
    if _made is None:
        with _making:
            if _made is None:
                _made = _make()
    return _made


def _make() -> _Instruments:
    from prometheus_client import CollectorRegistry, Counter, Histogram, values

    if multiprocess_dir() is not None and not values.ValueClass._multiprocess:
        # prometheus-client was imported before the directory was set: switch it over now,
        # before the first instrument exists.
        values.ValueClass = values.get_value_class()
    registry = CollectorRegistry(auto_describe=True)
    return _Instruments(
        registry,
        Counter(
            "ips_requests",
            "SOAP requests by operation and outcome: ok, the IPS fault code, the HTTP status "
            "of an injected bare answer, or dropped",
            ["operation", "outcome"],
            registry=registry,
        ),
        Histogram(
            "ips_request_seconds",
            "Time to answer a SOAP request, by operation",
            ["operation"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        ),
        Counter(
            "ips_runs",
            "Job runs ended, by job type and result (done, fatal, stopped)",
            ["type", "result"],
            registry=registry,
        ),
        Histogram(
            "ips_run_start_delay_seconds",
            "Start date minus trigger time of the runs the engine started",
            buckets=DELAY_BUCKETS,
            registry=registry,
        ),
    )


# -- what is measured -----------------------------------------------------------------------
#: (operation, outcome) -> its counter and histogram children; both sets are small and fixed.
_children: dict[tuple[str, str], tuple[Any, Any]] = {}


def record(
    body: bytes, outcome: Outcome, started: datetime, seconds: float, transport: str
) -> None:
    """The wire layer's recorder: counts and times one SOAP exchange (no I/O but the mmap)."""
    key = (outcome.operation or "unknown", outcome_label(outcome))
    pair = _children.get(key)
    if pair is None:
        made = _instruments()
        pair = _children[key] = (made.requests.labels(*key), made.request_seconds.labels(key[0]))
    pair[0].inc()
    pair[1].observe(seconds)


def outcome_label(outcome: Outcome) -> str:
    if outcome.drop:
        return "dropped"
    if outcome.plain:
        return str(outcome.status)
    if outcome.fault_code is not None:
        return str(outcome.fault_code)
    return "ok"


def runs_claimed(runs: Iterable[Run]) -> None:
    """The engine claimed these runs: the ones it started observe their start delay (runs
    claimed in Stopping never started)."""
    for run in runs:
        if run.state is RunState.RUNNING:
            delay = (run.start_date - run.trigger_time).total_seconds()
            (_made or _instruments()).start_delay.observe(max(0.0, delay))


def run_ended(run: Run, result: str) -> None:
    """A run reached Done: `done`, `fatal` (a FatalError) or `stopped`."""
    (_made or _instruments()).runs.labels(run.type, result).inc()


# -- the page -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Snapshot:
    runs: dict[tuple[str, str], int]
    queue_depth: int
    engines_alive: int


class DatabaseGauges:
    """A prometheus-client collector: the gauges, read from the database at scrape time."""

    def __init__(self, database: Database, clock: Clock, heartbeat_timeout: float) -> None:
        self.database = database
        self.clock = clock
        self.heartbeat_timeout = heartbeat_timeout

    def snapshot(self) -> Snapshot:
        now = self.clock.now()
        due = and_(
            scheduled_jobs.c.next_fire_time <= now,
            scheduled_jobs.c.trigger_state == TriggerState.NORMAL.value,
        )
        fresh = now - timedelta(seconds=self.heartbeat_timeout)
        runs: dict[tuple[str, str], int] = {}
        with self.database.read() as c:
            grouped = c.execute(
                select(job_runs.c.kind, job_runs.c.state, func.count()).group_by(
                    job_runs.c.kind, job_runs.c.state
                )
            )
            for kind, state, count in grouped:
                key = (JOB_TYPES.get(kind, "UploadPost"), state)
                runs[key] = runs.get(key, 0) + count
            waiting = c.execute(
                select(func.count()).where(
                    job_runs.c.state == RunState.NEW.value, job_runs.c.claimed_by.is_(None)
                )
            ).scalar_one()
            scheduled = c.execute(
                select(func.count()).select_from(scheduled_jobs).where(due)
            ).scalar_one()
            alive = c.execute(
                select(func.count()).where(engine_processes.c.heartbeat_at >= fresh)
            ).scalar_one()
        return Snapshot(runs, waiting + scheduled, alive)

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("ips_database_up", "1 when the gauges could read the database")
        try:
            snap = self.snapshot()
        except SQLAlchemyError as exc:
            log.warning("metrics: cannot read the database: %s", exc.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        runs = GaugeMetricFamily("ips_runs", "Job runs by type and state", labels=["type", "state"])
        counts = {(t, s): 0 for t in _TYPES for s in _STATES} | snap.runs
        for (job_type, state), count in sorted(counts.items()):
            runs.add_metric([job_type, state], count)
        yield runs
        yield GaugeMetricFamily(
            "ips_queue_depth",
            "Runs New and not claimed by an engine, plus schedules due now",
            value=snap.queue_depth,
        )
        yield GaugeMetricFamily(
            "ips_engines_alive",
            "Engine processes with a recent heartbeat",
            value=snap.engines_alive,
        )


def exposition(collectors: Sequence[Any] = ()) -> bytes:
    """Every process's counters and histograms, and `collectors`, as Prometheus text."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    path = multiprocess_dir()
    if path is not None:
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry, path)
    else:
        registry.register(_instruments().registry)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


def page(gauges: DatabaseGauges) -> Callable[[Request], tuple[int, str, bytes]]:
    """The control plane's /_ips/metrics."""

    def metrics_page(request: Request) -> tuple[int, str, bytes]:
        if request.method not in ("GET", "HEAD"):
            return 405, "text/plain", b"GET /_ips/metrics for Prometheus metrics.\n"
        return 200, CONTENT_TYPE, exposition([gauges])

    return metrics_page
