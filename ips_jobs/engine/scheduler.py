"""The engine in a process: APScheduler 3 is the alarm clock and the thread pool, the database
is the truth. A turn (every IPS_POLL_SECONDS, and at the next fire time) turns due
schedules into runs, claims runs and does every run step that is due. Everything is done in
batches, one transaction per batch: a run costs a share of a few statements, not a
transaction of its own per step."""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from ips_jobs import metrics
from ips_jobs.clock import Clock
from ips_jobs.domain.jobs import Run
from ips_jobs.engine.executor import Executor, Later
from ips_jobs.errors import StoreError
from ips_jobs.store.claim import EngineStore
from ips_jobs.store.database import EngineLock

log = logging.getLogger("ips_jobs.engine")
logging.getLogger("apscheduler").setLevel(logging.ERROR)

FIRE_BATCH = 500
#: Runs claimed, and run steps done, per transaction.
CLAIM_BATCH = 500
STEP_BATCH = 500
#: When steps that failed for want of the database are tried again.
RETRY_SECONDS = 1.0
MAX_POLL_ROUNDS = 20
#: How long stopping waits for the steps in progress to finish.
STOP_GRACE_SECONDS = 20
SHUTDOWN_MESSAGE = "The server was shut down while the job was running"
#: Log retention: a pass every minute (more often when runs are kept less than two minutes)
#: reads up to RETENTION_READS stretches of RETENTION_SPAN runs and deletes the expired ones,
#: RETENTION_BATCH runs per transaction; the next pass goes on where this one stopped.
RETENTION_PASS_SECONDS = 60.0
RETENTION_SPAN = 10_000
RETENTION_READS = 20
RETENTION_BATCH = 500
#: How often uploadPost jobs are looked at for a client that stopped posting.
WAIT_CHECK_SECONDS = 1.0


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
        setup: Callable[[Sequence[Run]], Sequence[Run]] | None = None,
        max_in_flight: int = 10_000,
        retention_days: float = 0.0,
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
        #: How long an ended run and its log are kept; None keeps them all.
        self.retention = timedelta(days=retention_days) if retention_days > 0 else None
        #: The run id the next retention pass starts after.
        self._retained_to = 0
        self.process_id = executor.process_id
        self.server_name = socket.gethostname()
        #: Runs this engine works on; only the turn in progress (under _turn_lock) touches
        #: these four, except stop(), which runs once no turn can start any more.
        self._in_flight: set[int] = set()
        #: The runs in flight as they stand after our last write, so a routine step needs no
        #: read; a run asked to stop or advance is read again.
        self._known: dict[int, Run] = {}
        self._due: list[tuple[datetime, int]] = []
        self._requested: set[int] = set()
        self._turn_lock = threading.Lock()
        self._stopping = threading.Event()
        self._steps_done = threading.Condition()
        self._active_steps = 0
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
        self._scheduler.add_job(
            self.end_waiting, "interval", seconds=WAIT_CHECK_SECONDS, id="waiting"
        )
        if self.retention is not None:
            every = min(RETENTION_PASS_SECONDS, max(1.0, self.retention.total_seconds() / 2))
            self._scheduler.add_job(self.retain, "interval", seconds=every, id="retention")
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
        left = sorted(self._in_flight)
        self._in_flight.clear()
        self.executor.close()
        for start in range(0, len(left), STEP_BATCH):
            self.executor.fail_all(
                self.store.runs(left[start : start + STEP_BATCH]),
                self.process_id,
                SHUTDOWN_MESSAGE,
            )
        self.store.unregister(self.process_id)
        self.lock.release()
        log.info("job engine %s stopped; %d unfinished run(s) ended", self.process_id, len(left))

    # -- the alarm clock ------------------------------------------------------------------
    def poll(self) -> None:
        """One turn of the engine; a turn already under way makes this one unnecessary."""
        with self._working() as allowed:
            if allowed and self._turn_lock.acquire(blocking=False):
                try:
                    self._turn()
                except Exception:
                    log.exception("engine poll failed; retrying at the next poll")
                finally:
                    self._turn_lock.release()

    def _turn(self) -> None:
        """Fires due schedules, claims runs and does every step that is due, in batches,
        until nothing more is due (or MAX_POLL_ROUNDS batches), then sets the alarm."""
        self._honour_requests()
        for _ in range(MAX_POLL_ROUNDS):
            now = self.clock.now()
            fired = self.store.fire_due(now, self.zone, self.server_name, FIRE_BATCH)
            free = min(CLAIM_BATCH, self.max_in_flight - len(self._in_flight))
            claimed = self.store.claim(self.process_id, now, free) if free > 0 else []
            metrics.runs_claimed(claimed)
            if fired:
                log.info("%d scheduled job(s) fired", fired)
            for run in claimed:
                log.info("run %s (%s) %s", run.id, run.name, run.state.value)
            if claimed and self.setup is not None:
                claimed = list(self.setup(claimed))
            for run in claimed:
                self.executor.forget(run.id)
                self._in_flight.add(run.id)
                self._known[run.id] = run
                self._due_at(now, run.id)
            stepped = self._step_due(now)
            more_steps = bool(self._due) and self._due[0][0] <= self.clock.now()
            if fired < FIRE_BATCH and (len(claimed) < free or free <= 0) and not more_steps:
                break
            if not stepped and not claimed and not fired:
                break
        self._arm_alarm()

    def _due_at(self, when: datetime, run_id: int) -> None:
        heapq.heappush(self._due, (when, run_id))

    def _honour_requests(self) -> None:
        """Stop and advance requests are acted on at once, not at the run's next step."""
        now = self.clock.now()
        for run_id in self.store.requested(self.process_id):
            if run_id not in self._requested:
                self._requested.add(run_id)
                self._known.pop(run_id, None)
                self._due_at(now, run_id)

    def _step_due(self, now: datetime) -> int:
        """Does the next step of every run whose step is due, in one batch."""
        ids: dict[int, None] = {}
        while self._due and self._due[0][0] <= now and len(ids) < STEP_BATCH:
            ids[heapq.heappop(self._due)[1]] = None
        if not ids:
            return 0
        runs = [self._known.pop(i) for i in ids if i in self._known]
        unread = ids.keys() - {r.id for r in runs}
        try:
            if unread:
                runs += self.store.runs(unread)
            outcome = self._advance(runs)
        except Exception:  # e.g. the database is gone: these runs are tried again later
            for run_id in ids:
                self._due_at(now + timedelta(seconds=RETRY_SECONDS), run_id)
            raise
        for run_id, later in outcome.items():
            ids.pop(run_id, None)
            if later is None:
                self.executor.forget(run_id)
                self._in_flight.discard(run_id)
                self._requested.discard(run_id)
            elif later.seconds is None:
                # a manual run waits for its next request; it stays in flight, so that
                # stop() ends it like any unfinished run instead of leaving it Running
                self._requested.discard(run_id)
            else:
                if later.run.paused_at is None:  # a held run is read again, for a resume
                    self._known[run_id] = later.run
                self._due_at(now + timedelta(seconds=later.seconds), run_id)
        for gone in ids:  # deleted meanwhile
            self.executor.forget(gone)
            self._in_flight.discard(gone)
            self._requested.discard(gone)
        return len(runs)

    def _advance(self, runs: Sequence[Run]) -> dict[int, Later | None]:
        """A batch of steps; if the batch fails, each run on its own, so that one broken run
        ends with a FatalError instead of holding back the others."""
        try:
            return self.executor.advance(runs)
        except Exception:
            if len(runs) > 1:
                log.warning(
                    "a batch of %d run steps failed; stepping them one by one",
                    len(runs),
                    exc_info=True,
                )
        after: dict[int, Later | None] = {}
        for run in runs:
            try:
                after.update(self.executor.advance([run]))
            except Exception:
                log.exception("run %s failed in the engine", run.id)
                current = self.store.run(run.id)
                if current is not None:
                    self.executor.fail(
                        current, self.process_id, "The job failed inside the emulator"
                    )
                after[run.id] = None
        return after

    def _arm_alarm(self) -> None:
        """Wakes exactly at the next fire time, not just at the next poll. Nothing earlier:
        a job submitted meanwhile is due at once, and waking for it at once would turn the
        engine round and round for a job or two at a time under load. Steps are done at the
        polls (a simulated run's progress needs no better than IPS_POLL_SECONDS)."""
        due = self.store.next_fire_time()
        if due is not None and due > self.clock.now():
            self._later(self.poll, "date", run_date=due, id="alarm", replace_existing=True)

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

    # -- uploadPost jobs whose client went quiet -----------------------------------------
    def end_waiting(self) -> int:
        """uploadPost jobs not ended by their client that waited past their time take the
        files they have (the next poll claims them); how many there were."""
        with self._working() as allowed:
            if not allowed:
                return 0
            try:
                ended = self.store.end_waiting(self.clock.now())
            except Exception:
                log.exception("looking for uploadPost jobs that waited too long failed")
                return 0
        for run in ended:
            log.info(
                "run %s (%s): no post (and no endJob) from its client in time; "
                "it uploads the files it has",
                run.id,
                run.name,
            )
        return len(ended)

    # -- log retention --------------------------------------------------------------------
    def retain(self) -> int:
        """One retention pass: deletes the runs (and their log rows) that ended more than the
        retention period ago; the number of runs deleted. Runs in progress and scheduled jobs
        are never touched. Each engine walks the runs on its own; on PostgreSQL they skip
        each other's deletions."""
        with self._working() as allowed:
            if not allowed or self.retention is None:
                return 0
            try:
                return self._retain(self.clock.now() - self.retention)
            except StoreError as error:  # e.g. PostgreSQL: a row held past the lock timeout
                log.warning("log retention pass stopped (%s); going on at the next one", error)
            except Exception:
                log.exception("log retention pass failed; trying again at the next one")
            return 0

    def _retain(self, cutoff: datetime) -> int:
        runs = details = 0
        after = self._retained_to
        try:
            for _ in range(RETENTION_READS):
                expired, last = self.store.expired_runs(cutoff, after, RETENTION_SPAN)
                for start in range(0, len(expired), RETENTION_BATCH):
                    if self._stopping.is_set():
                        return runs
                    batch = expired[start : start + RETENTION_BATCH]
                    deleted = self.store.delete_runs(batch, cutoff)
                    runs, details = runs + deleted[0], details + deleted[1]
                if last is None:
                    after = 0  # the end: the next pass starts from the first run again
                    break
                after = last
        finally:  # also when a batch failed: what was deleted is said, the next pass goes on
            self._retained_to = after
            if runs:
                log.info(
                    "log retention: deleted %d run(s) that ended before %s, with %d log row(s)",
                    runs,
                    cutoff.isoformat(timespec="seconds"),
                    details,
                )
        return runs

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
