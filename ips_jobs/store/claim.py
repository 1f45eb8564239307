"""The engine's side of the store: firing due schedules, claiming runs, saving their steps,
ending them, and recovering the runs of engines that died. Work is claimed in one statement,
with FOR UPDATE SKIP LOCKED on PostgreSQL (SQLite has one engine and a write lock)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy import update as update_

from ips_jobs.domain import firing, states
from ips_jobs.domain.jobs import LogCounts, LogDetail, Run, RunState, TaskProgress, TriggerState
from ips_jobs.domain.states import RunEvent, TriggerEvent
from ips_jobs.store.database import Database
from ips_jobs.store.driver import DriverStatement, insert_row
from ips_jobs.store.repository import (
    COUNT_COLUMNS,
    detail_values,
    new_run_insert,
    run_from_row,
    run_values,
    scheduled_from_row,
    scheduled_select,
    tasks_value,
)
from ips_jobs.store.tables import (
    UtcDateTime,
    engine_processes,
    job_log_details,
    job_runs,
    scheduled_jobs,
)


@dataclass(frozen=True)
class RunUpdate:
    """What a step changes on its run."""

    progress: int
    message: str
    tasks: Sequence[TaskProgress]
    counts: LogCounts
    log_type: str
    job_sub_type: str
    at: datetime

    #: The run columns a step sets (values() gives them all).
    COLUMNS = (
        "advance_to",
        "last_progress_update",
        "progress",
        "progress_message",
        "tasks",
        "log_type",
        "job_sub_type",
        *COUNT_COLUMNS.values(),
    )

    def values(self) -> dict[str, Any]:
        return {
            "advance_to": None,
            "last_progress_update": self.at,
            "progress": self.progress,
            "progress_message": self.message,
            "tasks": tasks_value(self.tasks),
            "log_type": self.log_type,
            "job_sub_type": self.job_sub_type,
            **{column: getattr(self.counts, name) for name, column in COUNT_COLUMNS.items()},
        }


class EngineStore:
    def __init__(self, database: Database) -> None:
        self.db = database
        dialect = database.sql_dialect
        self._insert_run = new_run_insert(database)
        self._due_by_time = DriverStatement(_due_by_time(), dialect)
        self._fired = DriverStatement(_FIRED, dialect)
        self._save_step = DriverStatement(_run_update("step"), dialect)
        self._end_run = DriverStatement(_run_update("state", "end_date", "fatal_error"), dialect)
        self._add_details = DriverStatement(insert_row(job_log_details), dialect)
        self._unblock = DriverStatement(_UNBLOCK, dialect)
        self._claim = DriverStatement(_CLAIM, dialect)

    # -- engine processes -----------------------------------------------------------------
    def register(self, process_id: str, host: str, pid: int, now: datetime) -> None:
        with self.db.checked_write() as c:
            c.execute(
                insert(engine_processes).values(
                    id=process_id, host=host, pid=pid, started_at=now, heartbeat_at=now
                )
            )

    def heartbeat(self, process_id: str, now: datetime) -> None:
        with self.db.checked_write() as c:
            c.execute(
                update_(engine_processes)
                .where(engine_processes.c.id == process_id)
                .values(heartbeat_at=now)
            )

    def unregister(self, process_id: str) -> None:
        with self.db.checked_write() as c:
            c.execute(delete(engine_processes).where(engine_processes.c.id == process_id))

    # -- schedules to runs ----------------------------------------------------------------
    def fire_due(self, now: datetime, zone: tzinfo, server_name: str, limit: int) -> int:
        """Makes the runs of every schedule whose time has come; one run per fire time.

        The schedules are read and their runs worked out before the write transaction, which
        then changes each schedule only if it is still as read (a pauseJob or deleteJob in
        between wins; so does another engine on PostgreSQL): SQLite's write lock, which every
        submitJob waits for, is held for the writes alone."""
        due = self._due_by_time
        with self.db.checked_read() as c:
            rows = due.records(due.rows(c, due.args({"now": now, "limit": limit})))
        firings: list[tuple[Any, Any]] = []
        # In id order: PostgreSQL engines firing the same schedules then lock them in the same
        # order, and one waits for the other instead of deadlocking.
        for row in sorted(rows, key=lambda row: row["id"]):
            job = scheduled_from_row(row)
            fire = firing.fire(job, now, zone, server_name)
            guard = {
                "b_id": job.id,
                "was_due": job.next_fire_time,
                "trigger_state": fire.trigger_state.value,
                "next_fire_time": fire.next_fire_time,
            }
            firings.append((self._fired.args(guard), self._new_run(fire.run)))
        if not firings:
            return 0
        with self.db.checked_write() as c:
            new_runs = [run for guard, run in firings if self._fired.one(c, guard)]
            # A fire time that already has its run (another engine fired it) makes none.
            return self._insert_run.many(c, new_runs) if new_runs else 0

    def _new_run(self, run: Run) -> Any:
        return self._insert_run.args(run_values(run))

    def next_fire_time(self) -> datetime | None:
        with self.db.checked_read() as c:
            return c.execute(
                select(func.min(scheduled_jobs.c.next_fire_time)).where(
                    scheduled_jobs.c.trigger_state == TriggerState.NORMAL.value
                )
            ).scalar_one_or_none()

    def end_waiting(self, now: datetime) -> list[Run]:
        """uploadPost jobs that waited for their client's next post past their time: they
        stop waiting (New: an engine takes them, with the files they have)."""
        waited_out = and_(
            job_runs.c.state.in_(sorted(states.run_sources(RunEvent.END_POSTS))),
            job_runs.c.waits_until <= now,
        )
        with self.db.checked_read() as c:
            if c.execute(select(job_runs.c.id).where(waited_out).limit(1)).first() is None:
                return []
        target = states.run_target(RunState.WAITING_CLIENT, RunEvent.END_POSTS)
        with self.db.checked_write() as c:
            rows = c.execute(
                update_(job_runs)
                .where(waited_out)
                .values(state=target.value, waits_until=None)
                .returning(*job_runs.c)
            ).all()
        return [run_from_row(r._mapping) for r in rows]

    # -- runs -----------------------------------------------------------------------------
    def claim(self, process_id: str, now: datetime, limit: int) -> list[Run]:
        """Takes up to `limit` unclaimed runs (new ones start; stopping ones are to be ended)."""
        args = self._claim.args({"process_id": process_id, "now": now, "limit": limit})
        with self.db.checked_write() as c:
            rows = self._claim.rows(c, args)
        return sorted((run_from_row(m) for m in self._claim.records(rows)), key=lambda r: r.id)

    def requested(self, process_id: str) -> list[int]:
        """Our runs that were asked to stop (stopJob, deleteJob) or to advance (/_ips)."""
        with self.db.checked_read() as c:
            return list(
                c.execute(
                    select(job_runs.c.id).where(
                        job_runs.c.claimed_by == process_id,
                        or_(
                            job_runs.c.state == RunState.STOPPING.value,
                            and_(
                                job_runs.c.state == RunState.RUNNING.value,
                                or_(
                                    job_runs.c.advance_to.is_not(None),
                                    job_runs.c.advance_outcome.is_not(None),
                                ),
                            ),
                        ),
                    )
                ).scalars()
            )

    def clear_advance(self, run_id: int) -> None:
        with self.db.checked_write() as c:
            c.execute(update_(job_runs).where(job_runs.c.id == run_id).values(advance_to=None))

    def run(self, run_id: int) -> Run | None:
        with self.db.checked_read() as c:
            row = c.execute(select(job_runs).where(job_runs.c.id == run_id)).first()
        return run_from_row(row._mapping) if row else None

    def runs(self, run_ids: Collection[int]) -> list[Run]:
        with self.db.checked_read() as c:
            rows = c.execute(select(job_runs).where(job_runs.c.id.in_(list(run_ids)))).all()
        return [run_from_row(r._mapping) for r in rows]

    def write(self, process_id: str | None, writes: Sequence[StepWrite]) -> set[int]:
        """Saves steps of runs still running for us, and ends runs that may end
        (`process_id` None: runs nobody claimed, stopped before they started), all in one
        transaction; the ids of the runs written. An ended run leaves its last log rows and
        unblocks its recurring schedule. A held (paused) run takes no routine step."""
        if not writes:
            return set()
        prepared = [(write, self._driver_args(write)) for write in writes]
        with self.db.checked_write() as c:
            current = {
                run_id: (state, paused_at is not None)
                for run_id, state, paused_at in c.execute(
                    select(job_runs.c.id, job_runs.c.state, job_runs.c.paused_at)
                    .where(
                        job_runs.c.id.in_([w.run.id for w in writes]),
                        _owned_by(process_id),
                        _FINISHABLE,
                    )
                    .with_for_update()
                ).all()
            }
            done = [
                (w, args)
                for w, args in prepared
                if w.run.id in current
                and (w.end or current[w.run.id][0] == RunState.RUNNING.value)
                and not (w.routine and current[w.run.id][1])
            ]
            self._save_step.many(c, [args.run for w, args in done if not w.end])
            self._end_run.many(c, [args.run for w, args in done if w.end])
            self._add_details.insert_rows(c, [row for _, args in done for row in args.details])
            self._unblock.many(c, [args.unblock for _, args in done if args.unblock is not None])
        return {w.run.id for w, _ in done}

    def _driver_args(self, write: StepWrite) -> _StepArgs:
        """A step's rows, converted for the driver before the transaction begins."""
        run = write.run
        if write.end:
            values = {
                "b_id": run.id,
                "state": RunState.DONE.value,
                "end_date": write.update.at,
                "fatal_error": write.fatal,
                **write.update.values(),
            }
            statement = self._end_run
        else:
            values = {"b_id": run.id, "step": run.step + 1, **write.update.values()}
            statement = self._save_step
        unblock = (
            self._unblock.args({"b_id": run.scheduled_job_id})
            if write.end and run.scheduled_job_id is not None
            else None
        )
        return _StepArgs(
            statement.args(values),
            [self._add_details.args(detail_values(d)) for d in write.details],
            unblock,
        )

    def orphans(self, process_id: str, alive_since: datetime | None) -> list[tuple[Run, str]]:
        """Active runs claimed by engines other than us that are gone: no heartbeat since
        `alive_since` (None: every other engine is gone, as with SQLite's single engine)."""
        others = and_(job_runs.c.claimed_by.is_not(None), job_runs.c.claimed_by != process_id)
        if alive_since is not None:
            alive = select(engine_processes.c.id).where(
                engine_processes.c.heartbeat_at >= alive_since
            )
            others = and_(others, job_runs.c.claimed_by.not_in(alive))
        with self.db.checked_read() as c:
            rows = c.execute(
                select(job_runs)
                .where(job_runs.c.state.in_(sorted(states.ACTIVE_RUN_STATES)), others)
                .order_by(job_runs.c.id)
            ).all()
        return [(run_from_row(r._mapping), r.claimed_by) for r in rows]

    def adopt(self, run: Run, dead_owner: str, process_id: str) -> bool:
        """Takes over an orphaned run so that exactly one engine ends it."""
        with self.db.checked_write() as c:
            result = c.execute(
                update_(job_runs)
                .where(job_runs.c.id == run.id, job_runs.c.claimed_by == dead_owner)
                .values(claimed_by=process_id)
            )
        return result.rowcount == 1

    def forget_engines(self, dead_before: datetime | None, keep: Collection[str]) -> None:
        """Drops the records of engines silent since `dead_before` (None: all but `keep`)."""
        where = [engine_processes.c.id.not_in(list(keep))]
        if dead_before is not None:
            where.append(engine_processes.c.heartbeat_at < dead_before)
        with self.db.checked_write() as c:
            c.execute(delete(engine_processes).where(*where))

    # -- retention ------------------------------------------------------------------------
    def expired_runs(
        self, cutoff: datetime, after: int, limit: int
    ) -> tuple[list[int], int | None]:
        """Of the `limit` runs after id `after`, the ids of those that ended before `cutoff`,
        and the id to read on after (None: the last run was read). A read of one stretch of
        the primary key: bounded, and no write lock."""
        with self.db.checked_read() as c:
            rows = c.execute(
                select(job_runs.c.id, job_runs.c.end_date, _ENDED.label("ended"))
                .where(job_runs.c.id > after)
                .order_by(job_runs.c.id)
                .limit(limit)
            ).all()
        expired = [
            run_id for run_id, end, ended in rows if ended and end is not None and end < cutoff
        ]
        return expired, (rows[-1].id if len(rows) == limit else None)

    def delete_runs(self, run_ids: Sequence[int], cutoff: datetime) -> tuple[int, int]:
        """Deletes these runs, if they still ended before `cutoff`, with their log rows:
        (runs, log rows) deleted. A transaction deletes at most DETAIL_BATCH log rows, so a
        run with thousands of them takes several and SQLite's write lock is never held long.
        On PostgreSQL a run another engine is deleting is skipped (SKIP LOCKED), and a lock
        held by anyone else ends the attempt at once (lock_timeout): retention gives way."""
        runs = details = 0
        while True:
            with self.db.checked_write() as c:
                if not self.db.is_sqlite:
                    c.execute(text(f"SET LOCAL lock_timeout = '{RETENTION_LOCK_TIMEOUT_MS}ms'"))
                ids = list(
                    c.execute(
                        select(job_runs.c.id)
                        .where(job_runs.c.id.in_(list(run_ids)), job_runs.c.end_date < cutoff)
                        .where(_ENDED)
                        .with_for_update(skip_locked=True)
                    ).scalars()
                )
                if not ids:
                    return runs, details
                picked = (
                    select(job_log_details.c.id)
                    .where(job_log_details.c.run_id.in_(ids))
                    .limit(DETAIL_BATCH)
                    .scalar_subquery()
                )
                deleted = c.execute(
                    delete(job_log_details).where(job_log_details.c.id.in_(picked))
                ).rowcount
                details += deleted
                if deleted < DETAIL_BATCH:
                    jobs = select(job_runs.c.scheduled_job_id).where(job_runs.c.id.in_(ids))
                    job_ids = [i for i in c.execute(jobs.distinct()).scalars() if i is not None]
                    runs += c.execute(delete(job_runs).where(job_runs.c.id.in_(ids))).rowcount
                    c.execute(_FINISHED_JOBS_WITHOUT_RUNS, {"job_ids": job_ids})
                    return runs, details


#: A schedule fired, if it is still due as read (Normal, at `was_due`); RETURNING, so that the
#: driver says whether a row matched.
_FIRED = (
    update_(scheduled_jobs)
    .where(
        scheduled_jobs.c.id == bindparam("b_id"),
        scheduled_jobs.c.trigger_state == TriggerState.NORMAL.value,
        scheduled_jobs.c.next_fire_time == bindparam("was_due", type_=UtcDateTime()),
    )
    .values(trigger_state=bindparam("trigger_state"), next_fire_time=bindparam("next_fire_time"))
    .returning(scheduled_jobs.c.id)
)
#: A job that will never fire again goes with its last run: left alone, the rows of one-off
#: jobs (one per immediate submitJob) would pile up for good, invisible to every operation.
_FINISHED_JOBS_WITHOUT_RUNS = delete(scheduled_jobs).where(
    scheduled_jobs.c.id.in_(bindparam("job_ids", expanding=True)),
    scheduled_jobs.c.trigger_state == TriggerState.COMPLETE.value,
    ~exists().where(job_runs.c.scheduled_job_id == scheduled_jobs.c.id),
)
#: Prebuilt: the engine runs these for every run. The rows are picked (and, on PostgreSQL,
#: locked) first, so the writes themselves are one executemany each.
_BY_ID = update_(job_runs).where(job_runs.c.id == bindparam("b_id"))
_FINISHABLE = job_runs.c.state.in_(sorted(states.run_sources(RunEvent.FINISH)))
#: A run that has ended. NOT IN the active states, not = 'Done': SQLite would read an
#: equality through the state index instead of the primary key's range or list.
_ENDED = job_runs.c.state.not_in(sorted(states.ACTIVE_RUN_STATES))
#: Log rows deleted per retention transaction, and how long retention waits for a lock on
#: PostgreSQL before it gives up until its next pass.
DETAIL_BATCH = 5000
RETENTION_LOCK_TIMEOUT_MS = 200
_UNBLOCK = (
    update_(scheduled_jobs)
    .where(
        scheduled_jobs.c.id == bindparam("b_id"),
        # equalities, not IN: an expanding IN cannot be run as an executemany
        or_(
            *(
                scheduled_jobs.c.trigger_state == state.value
                for state in sorted(states.trigger_sources(TriggerEvent.RUN_ENDED))
            )
        ),
    )
    .values(trigger_state=states.trigger_target(TriggerState.BLOCKED, TriggerEvent.RUN_ENDED).value)
)


def _claim_statement() -> Any:
    """Takes unclaimed runs for `process_id`; a new one starts `now`."""
    claimable = sorted(states.run_sources(RunEvent.CLAIM))
    picked = (
        select(job_runs.c.id)
        .where(  # not in_(): a driver statement has no expanding parameters
            or_(*(job_runs.c.state == state for state in claimable)),
            job_runs.c.claimed_by.is_(None),
        )
        .order_by(job_runs.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    now = bindparam("now", type_=UtcDateTime())
    return (
        update_(job_runs)
        .where(job_runs.c.id.in_(picked))
        .values(
            claimed_by=bindparam("process_id"),
            state=func.coalesce(
                func.nullif(job_runs.c.state, RunState.NEW.value), RunState.RUNNING.value
            ),
            start_date=case(
                (job_runs.c.state == RunState.NEW.value, now), else_=job_runs.c.start_date
            ),
            last_progress_update=now,
        )
        .returning(*job_runs.c)
    )


_CLAIM = _claim_statement()


@dataclass(frozen=True)
class StepWrite:
    """A step of a run to save, or (`end`) its last step, which ends it."""

    run: Run
    update: RunUpdate
    details: Sequence[LogDetail]
    end: bool = False
    fatal: bool = False
    #: A step of the run's plan (not a stop or a failure): a run that pauseJob holds makes none.
    routine: bool = False


def _due_by_time() -> Any:
    """Schedules whose fire time has come (Normal ones only)."""
    return (
        scheduled_select()
        .where(
            scheduled_jobs.c.next_fire_time <= bindparam("now", type_=UtcDateTime()),
            scheduled_jobs.c.trigger_state == TriggerState.NORMAL.value,
        )
        .order_by(scheduled_jobs.c.next_fire_time, scheduled_jobs.c.id)
        .limit(bindparam("limit", type_=Integer))
    )


def _owned_by(process_id: str | None) -> Any:
    if process_id is None:
        return job_runs.c.claimed_by.is_(None)
    return job_runs.c.claimed_by == process_id


@dataclass(frozen=True)
class _StepArgs:
    run: Any
    details: list[Any]
    unblock: Any | None


def _run_update(*columns: str) -> Any:
    """An UPDATE of one run by id (`b_id`), of the given columns and a step's."""
    names = (*columns, *RunUpdate.COLUMNS)
    return _BY_ID.values({name: bindparam(name) for name in names})
