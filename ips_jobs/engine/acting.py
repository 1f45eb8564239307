"""Runs that act on assets for real. Their work (downloads, asset writes) is done on a pool of
threads of its own, so the engine's turns never wait for it; their plans are made from the
work as far as it has got, and a step whose rows are not known yet waits for them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ips_jobs.domain.jobs import Run, RunState
from ips_jobs.engine.runners import Entry, Plan, Planner, Step, injected, lay_out

log = logging.getLogger("ips_jobs.engine")

#: Runs whose work is done at once, each on a thread of its own; more wait for a thread.
WORK_THREADS = 4


class Progress:
    """What a run's work has done so far: written by its worker thread, read by the planner.
    Each item the work announced with expect() gives exactly one row, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._total: int | None = None
        self._done = False
        self._failure: str | None = None
        self.cancelled = threading.Event()

    def expect(self, total: int) -> None:
        with self._lock:
            self._total = total

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def finish(self, failure: str | None = None) -> None:
        with self._lock:
            self._done, self._failure = True, failure

    def plan(self, run: Run, max_item_steps: int) -> Plan:
        """The run's plan as far as the work has got."""
        with self._lock:
            entries, total = tuple(self._entries), self._total
            done, failure = self._done, self._failure
        if total is None:  # how many items there are is not known yet
            total, entries = (len(entries), entries) if done else (0, ())
        plan = lay_out(run, entries, total, done, max_item_steps)
        if failure is None:
            return plan
        last = plan.steps[-1]
        fatal = Step(last.progress, failure, (Entry("FatalError", failure),), last.counts)
        return replace(plan, steps=(*plan.steps[:-1], fatal), fatal=True)


#: The work of a job type: does it, reporting each item's row to the Progress, and returns
#: early once the Progress is cancelled.
Act = Callable[[Run, Progress], None]


class ActingPlanner(Planner):
    """Plans the runs of the job types in `acts` from their real work; other runs (and runs a
    fault rule applies to, which get nothing through) get the `simulated` plan."""

    def __init__(
        self, acts: Mapping[str, Act], simulated: Planner, max_item_steps: int = 8
    ) -> None:
        self.acts = acts
        self.simulated = simulated
        self.max_item_steps = max_item_steps
        self._works: dict[int, Progress] = {}
        self._pool = ThreadPoolExecutor(WORK_THREADS, thread_name_prefix="ips-jobs-work")

    def _act(self, run: Run) -> Act | None:
        return None if injected(run) else self.acts.get(run.kind)

    def start(self, run: Run) -> None:
        act = self._act(run)
        if act is None or run.id in self._works or run.state is not RunState.RUNNING:
            return
        progress = self._works[run.id] = Progress()
        self._pool.submit(_work, act, run, progress)

    def plan(self, run: Run) -> Plan:
        if self._act(run) is None:
            return self.simulated.plan(run)
        progress = self._works.get(run.id)
        if progress is None:  # not started here: only the plan's kind is of use
            return lay_out(run, (), 0, False, self.max_item_steps)
        return progress.plan(run, self.max_item_steps)

    def forget(self, run_id: int) -> None:
        progress = self._works.pop(run_id, None)
        if progress is not None:
            progress.cancelled.set()

    def close(self) -> None:
        for progress in self._works.values():
            progress.cancelled.set()
        self._works.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)


def _work(act: Act, run: Run, progress: Progress) -> None:
    """A run's work on a pool thread; an error that stops it ends the run with a FatalError."""
    try:
        act(run, progress)
    except Exception as error:
        log.exception("run %s: its work failed", run.id)
        progress.finish(f"The job failed: {error}")
    else:
        progress.finish()
