"""The engine in a process: APScheduler 3 is the alarm clock and the thread pool, the database
is the truth. A poll (every IPS_POLL_SECONDS, and at the next fire time) turns due schedules
into runs and claims runs; each run step is an APScheduler date job on the executor threads."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta, tzinfo
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from ips_jobs import metrics
from ips_jobs.clock import Clock
from ips_jobs.domain.jobs import Run
from ips_jobs.engine.executor import Executor
from ips_jobs.store.claim import EngineStore
from ips_jobs.store.database import EngineLock

log = logging.getLogger("ips_jobs.engine")
logging.getLogger("apscheduler").setLevel(logging.ERROR)

FIRE_BATCH = 500
MAX_POLL_ROUNDS = 20
#: How long stopping waits for the steps in progress to finish.
STOP_GRACE_SECONDS = 20


class Engine:
    def __init__(
        self,
        store: EngineStore,
        executor: Executor,
        clock: Clock,
        zone: tzinfo,
        lock: EngineLock,
        *,
        threads: int,
        poll_seconds: float,
        heartbeat_timeout: float,
        shared: bool,
        setup: Callable[[Sequence[Run]], None] | None = None,
        max_in_flight: int = 200,
    ) -> None:
        self.store = store
        self.executor = executor
        self.clock = clock
        self.zone = zone
        self.lock = lock
        self.poll_seconds = poll_seconds
        self.heartbeat_timeout = heartbeat_timeout
        self.shared = shared
        self.max_in_flight = max_in_flight
        self.setup = setup
        self.process_id = executor.process_id
        self.server_name = socket.gethostname()
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self._stopping = threading.Event()
        self._steps_done = threading.Condition()
        self._active_steps = 0
        self._stops: set[int] = set()
        self._scheduler = BackgroundScheduler(
            jobstores={"default": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(threads)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=zone,
        )

    @staticmethod
    def new_process_id() -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Takes the lock (SQLite: refuses if another engine runs), recovers what dead
        engines left, and starts polling."""
        self.lock.acquire()
        now = self.clock.now()
        self.store.register(self.process_id, socket.gethostname(), os.getpid(), now)
        self.recover(everyone_else_dead=not self.shared)
        self._scheduler.add_job(self.poll, "interval", seconds=self.poll_seconds, id="poll")
        self._scheduler.add_job(
            self.heartbeat, "interval", seconds=max(0.5, self.heartbeat_timeout / 5), id="beat"
        )
        self._scheduler.start()
        log.info(
            "job engine %s started (%s)",
            self.process_id,
            "shared with other engines" if self.shared else "the only engine",
        )
        self.poll()

    def _later(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Schedules work unless the engine is stopping: adding a job while the scheduler
        shuts down would wait forever for the lock its shutdown holds."""
        if self._stopping.is_set():
            return
        self._scheduler.add_job(func, *args, **kwargs)

    def stop(self) -> None:
        """Lets running steps finish, then ends the runs still in flight with a FatalError
        (a run is never resumed; see docs/engine.md) and leaves."""
        with self._steps_done:
            self._stopping.set()
        self._scheduler.shutdown(wait=False)
        with self._steps_done:
            self._steps_done.wait_for(lambda: self._active_steps == 0, timeout=STOP_GRACE_SECONDS)
        with self._in_flight_lock:
            left = sorted(self._in_flight)
            self._in_flight.clear()
        for run_id in left:
            run = self.store.run(run_id)
            if run is not None:
                self.executor.fail(
                    run, self.process_id, "The server was shut down while the job was running"
                )
        self.store.unregister(self.process_id)
        self.lock.release()
        log.info("job engine %s stopped; %d unfinished run(s) ended", self.process_id, len(left))

    # -- the alarm clock ------------------------------------------------------------------
    def poll(self) -> None:
        with self._working() as allowed:
            if allowed and self._poll_lock.acquire(blocking=False):
                try:
                    self._poll()
                finally:
                    self._poll_lock.release()

    def _poll(self) -> None:
        try:
            for _ in range(MAX_POLL_ROUNDS):
                now = self.clock.now()
                fired = self.store.fire_due(now, self.zone, self.server_name, FIRE_BATCH)
                free = self.max_in_flight - len(self._in_flight)
                claimed = self.store.claim(self.process_id, now, free) if free > 0 else []
                metrics.runs_claimed(claimed)
                if fired:
                    log.info("%d scheduled job(s) fired", fired)
                for run in claimed:
                    log.info("run %s (%s) %s", run.id, run.name, run.state.value)
                if claimed and self.setup is not None:
                    self.setup(claimed)
                for run in claimed:
                    with self._in_flight_lock:
                        self._in_flight.add(run.id)
                    self._later(self._step, args=[run.id])
                if fired < FIRE_BATCH and (len(claimed) < free or free <= 0):
                    break
            self._honour_requests()
            self._arm_alarm()
        except Exception:
            log.exception("engine poll failed; retrying at the next poll")

    def _honour_requests(self) -> None:
        """Stop and advance requests are acted on at once, not at the run's next step."""
        for run_id in self.store.requested(self.process_id):
            if run_id not in self._stops:
                self._stops.add(run_id)
                self._later(self._step, args=[run_id])

    def _arm_alarm(self) -> None:
        """Wakes exactly at the next fire time, not just at the next poll."""
        due = self.store.next_fire_time()
        if due is not None and due > self.clock.now():
            self._later(self.poll, "date", run_date=due, id="alarm", replace_existing=True)

    def _step(self, run_id: int) -> None:
        with self._working() as allowed:
            if allowed:
                self._step_once(run_id)

    @contextlib.contextmanager
    def _working(self) -> Iterator[bool]:
        """Counts work in progress, so stop() can wait for it; False once stopping."""
        with self._steps_done:
            if self._stopping.is_set():
                allowed = False
            else:
                allowed = True
                self._active_steps += 1
        try:
            yield allowed
        finally:
            if allowed:
                with self._steps_done:
                    self._active_steps -= 1
                    self._steps_done.notify_all()

    def _step_once(self, run_id: int) -> None:
        try:
            delay = self.executor.step(run_id)
        except Exception:
            log.exception("run %s failed in the engine", run_id)
            run = self.store.run(run_id)
            if run is not None:
                self.executor.fail(run, self.process_id, "The job failed inside the emulator")
            delay = None
        if delay is None:
            with self._in_flight_lock:
                self._in_flight.discard(run_id)
            self._stops.discard(run_id)
            return
        self._later(
            self._step,
            "date",
            run_date=self.clock.now() + timedelta(seconds=delay),
            args=[run_id],
        )

    # -- heartbeats and recovery ----------------------------------------------------------
    def heartbeat(self) -> None:
        try:
            self.store.heartbeat(self.process_id, self.clock.now())
            if self.shared:
                self.recover(everyone_else_dead=False)
        except Exception:
            log.exception("engine heartbeat failed")

    def recover(self, everyone_else_dead: bool) -> int:
        """Ends the runs of engines that died mid-run with a FatalError log row."""
        now = self.clock.now()
        alive_since = (
            None if everyone_else_dead else now - timedelta(seconds=self.heartbeat_timeout)
        )
        ended = 0
        for run, owner in self.store.orphans(self.process_id, alive_since):
            if self.store.adopt(run, owner, self.process_id) and self.executor.fail(
                run, self.process_id
            ):
                ended += 1
        if ended:
            log.warning("recovered %d run(s) left running by a stopped engine", ended)
        forget_before = None if alive_since is None else alive_since - timedelta(seconds=60)
        self.store.forget_engines(forget_before, [self.process_id])
        return ended
