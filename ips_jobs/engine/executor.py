"""Steps one run through its plan: each call does the next step and says when the one after
is due; a stop request is honoured between steps."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from ips_jobs import metrics
from ips_jobs.clock import Clock
from ips_jobs.domain.jobs import LogDetail, Run, RunState, TaskProgress
from ips_jobs.engine.runners import Entry, Plan, Planner, Step, Task
from ips_jobs.store.claim import EngineStore, RunUpdate, StepWrite

log = logging.getLogger("ips_jobs.engine")

STOPPED_MESSAGE = "Job was stopped by request"
ADVANCED_FAILURE = "The job was ended with a failure through the control API"
RECOVERED_MESSAGE = "The server stopped while the job was running; the job did not finish"
#: How often a run that pauseJob holds is looked at again, for a resumeJob.
HOLD_SECONDS = 0.2
#: How often a run whose next step waits for its real work is looked at again.
WORK_WAIT_SECONDS = 0.05


@dataclass(frozen=True)
class Durations:
    """How long a run takes: per job type (the IPS `type`), else the default."""

    default: float
    by_type: Mapping[str, float]

    def of(self, run: Run) -> float:
        """A run control's seconds, else the job type's, else the default."""
        if run.seconds is not None:
            return run.seconds
        return self.by_type.get(run.type, self.default)


@dataclass(frozen=True)
class Later:
    """A run's next step is due in `seconds`. `run` has its step moved on, which is all a
    routine step needs; its progress fields are stale (stop and fail read the run again).
    `seconds` None: a manual run, still ours but with no step due until it is asked to
    advance or stop (so a graceful stop still ends it)."""

    seconds: float | None
    run: Run


class Executor:
    def __init__(
        self,
        store: EngineStore,
        planner: Planner,
        clock: Clock,
        durations: Durations,
        process_id: str,
    ) -> None:
        self.store = store
        self.planner = planner
        self.clock = clock
        self.durations = durations
        self.process_id = process_id
        #: Plans of the runs in flight: a plan depends only on what a run was claimed with,
        #: and making it again for every step was a fifth of the engine's CPU.
        self._plans: dict[int, Plan] = {}

    def advance(self, runs: Sequence[Run]) -> dict[int, Later | None]:
        """Does the next step of each run, the routine ones in one transaction; for each run,
        when its next step is due and the run as it then stands, or None once it has ended."""
        after: dict[int, Later | None] = {}
        routine: list[tuple[Run, Plan, StepWrite]] = []
        for run in runs:
            after[run.id] = None
            if run.state is RunState.DONE:
                continue
            plan = self._plan(run)
            remaining = plan.steps[run.step :]
            if run.state is RunState.STOPPING:
                self.stop(run, plan)
            elif run.advance_outcome == "failure":
                self.fail(run, self.process_id, ADVANCED_FAILURE)
            elif run.advance_outcome == "success" and not plan.pending:
                self._finish(run, plan, remaining)
            elif run.manual and run.advance_outcome is None:
                moved = self._manual(run, plan)
                if moved is not None:  # looked at again while its real work goes on
                    after[run.id] = Later(WORK_WAIT_SECONDS if plan.pending else None, moved)
            elif run.paused_at is not None:
                after[run.id] = Later(HOLD_SECONDS, run)
            elif plan.pending and not remaining:  # the work has not got that far yet
                after[run.id] = Later(WORK_WAIT_SECONDS, run)
            elif plan.pending:
                write = self._step(run, plan, remaining[0])
                routine.append((run, plan, replace(write, routine=True)))
            elif self.durations.of(run) <= 0 or len(remaining) <= 1:
                write = self._ending(run, plan, remaining)
                routine.append((run, plan, replace(write, routine=True)))
            else:
                write = self._step(run, plan, remaining[0])
                routine.append((run, plan, replace(write, routine=True)))
        written = self.store.write(self.process_id, [write for _, _, write in routine])
        for run, plan, write in routine:
            if run.id not in written:
                after[run.id] = self._after_refusal(run.id)
            elif write.end:
                self._ended(run, plan)
            else:
                steps = len(plan.steps) + plan.pending
                seconds = self.durations.of(run) / max(1, steps - 1)
                after[run.id] = Later(seconds, replace(run, step=run.step + 1, advance_to=None))
        return after

    def forget(self, run_id: int) -> None:
        """The run is no longer ours to step (ended, deleted, or newly claimed)."""
        self._plans.pop(run_id, None)
        self.planner.forget(run_id)

    def close(self) -> None:
        """The engine stops: real work still going on is abandoned."""
        self.planner.close()

    def _plan(self, run: Run) -> Plan:
        """The run's plan, kept once it is complete (a plan still waiting for real work is
        asked for again)."""
        plan = self._plans.get(run.id)
        if plan is None:
            self.planner.start(run)
            plan = self.planner.plan(run)
            if not plan.pending:
                self._plans[run.id] = plan
        return plan

    def _manual(self, run: Run, plan: Plan) -> Run | None:
        """A run in manual mode makes its first step, then only moves when advanced: through
        every step up to the progress asked for (never the last one; that takes an outcome;
        a plan still waiting for real work has no last one yet). The run as it now stands;
        None when the store refused a step (the run was stopped meanwhile, or is not ours)."""
        target = run.advance_to if run.advance_to is not None else 0
        current = run
        last = len(plan.steps) - (0 if plan.pending else 1)
        while current.step < last and (
            current.step == 0 or plan.steps[current.step].progress <= target
        ):
            if not self._save(current, plan, plan.steps[current.step]):
                self._after_refusal(run.id)
                return None
            current = replace(current, step=current.step + 1, advance_to=None)
        if plan.pending:  # the progress asked for stays asked for until the work gets there
            return replace(current, advance_to=run.advance_to)
        if run.advance_to is not None and current.step == run.step:
            self.store.clear_advance(run.id)
            current = replace(current, advance_to=None)
        return current

    def _save(self, run: Run, plan: Plan, step: Step) -> bool:
        return run.id in self.store.write(self.process_id, [self._step(run, plan, step)])

    def _step(self, run: Run, plan: Plan, step: Step) -> StepWrite:
        return StepWrite(run, self._update(run, plan, step), self._details(run, step.entries))

    def stop(self, run: Run, plan: Plan) -> None:
        entry = Entry(plan.end_type, STOPPED_MESSAGE)
        update = RunUpdate(
            progress=run.progress,
            message="Stopped",
            tasks=tuple(replace(t, task_state="Stopping") for t in run.tasks),
            counts=run.counts,
            log_type=plan.log_type,
            job_sub_type=plan.job_sub_type,
            at=self.clock.now(),
        )
        write = StepWrite(run, update, self._details(run, [entry]), end=True)
        if self.store.write(self.process_id, [write]):
            metrics.run_ended(run, "stopped")
            log.info("run %s (%s) stopped on request", run.id, run.name)

    def fail(self, run: Run, owner: str | None, message: str = RECOVERED_MESSAGE) -> bool:
        """Ends a run that cannot go on with a FatalError log row."""
        return bool(self.fail_all([run], owner, message))

    def fail_all(self, runs: Sequence[Run], owner: str | None, message: str) -> int:
        """fail() for many runs in one transaction; how many it ended."""
        ended = self.store.write(owner, [self._failure(run, message) for run in runs])
        for run in runs:
            if run.id in ended:
                metrics.run_ended(run, "fatal")
        return len(ended)

    def _failure(self, run: Run, message: str) -> StepWrite:
        try:
            plan = self.planner.plan(run)
            log_type, job_sub_type = plan.log_type, plan.job_sub_type
        except Exception:  # a run its planner cannot plan must still end
            log.exception("run %s could not be planned; it ends as it stands", run.id)
            log_type, job_sub_type = run.log_type, run.job_sub_type
        update = RunUpdate(
            progress=run.progress,
            message=message,
            tasks=tuple(replace(t, task_state="Failed") for t in run.tasks),
            counts=run.counts,
            log_type=log_type,
            job_sub_type=job_sub_type,
            at=self.clock.now(),
        )
        details = self._details(run, [Entry("FatalError", message)])
        return StepWrite(run, update, details, True, True)

    def _finish(self, run: Run, plan: Plan, remaining: Sequence[Step]) -> None:
        if self.store.write(self.process_id, [self._ending(run, plan, remaining)]):
            self._ended(run, plan)
        else:
            self._after_refusal(run.id)

    def _ending(self, run: Run, plan: Plan, remaining: Sequence[Step]) -> StepWrite:
        """The run's remaining log rows, and its end."""
        entries = [entry for step in remaining for entry in step.entries]
        last = remaining[-1] if remaining else plan.steps[-1]
        update = self._update(run, plan, last)
        return StepWrite(run, update, self._details(run, entries), end=True, fatal=plan.fatal)

    def _ended(self, run: Run, plan: Plan) -> None:
        metrics.run_ended(run, "fatal" if plan.fatal else "done")
        log.info("run %s (%s) done", run.id, run.name)

    def _after_refusal(self, run_id: int) -> Later | None:
        """The store refused a write: the run was stopped or paused meanwhile (or is not
        ours). A paused run is held: it is looked at again shortly."""
        current = self.store.run(run_id)
        if current is None:
            return None
        if current.state is RunState.STOPPING:
            self.stop(current, self.planner.plan(current))
        elif current.state is RunState.RUNNING and current.paused_at is not None:
            return Later(HOLD_SECONDS, current)
        return None

    def _update(self, run: Run, plan: Plan, step: Step) -> RunUpdate:
        return RunUpdate(
            progress=step.progress,
            message=step.message,
            tasks=tuple(_task_progress(t, self.clock.now()) for t in step.tasks),
            counts=step.counts,
            log_type=plan.log_type,
            job_sub_type=plan.job_sub_type,
            at=self.clock.now(),
        )

    def _details(self, run: Run, entries: Iterable[Entry]) -> list[LogDetail]:
        now = self.clock.now()
        return [
            LogDetail(
                run_id=run.id,
                date_created=now,
                log_type=e.log_type,
                log_message=e.message,
                asset_name=e.asset_name,
                asset_type=e.asset_type,
                asset_handle=e.asset_handle,
            )
            for e in entries
        ]


def _task_progress(task: Task, now: datetime) -> TaskProgress:
    total = task.processed + task.processing + task.pending
    return TaskProgress(
        task_type=task.task_type,
        task_state=task.state,
        num_processed=task.processed,
        num_processing=task.processing,
        num_pending=task.pending,
        progress=task.processed / total if total else 0.0,
        progress_message="",
        last_progress_update=now,
    )
