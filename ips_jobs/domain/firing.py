"""What happens when a scheduled job's time comes: the run it makes, and its trigger's next
state and fire time. Misfires (the server was down) fire once, then the schedule moves on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from ips_jobs.domain import schedules, states
from ips_jobs.domain.jobs import Run, RunState, ScheduledJob, TriggerState
from ips_jobs.domain.states import TriggerEvent


@dataclass(frozen=True)
class Firing:
    run: Run
    trigger_state: TriggerState
    next_fire_time: datetime | None


def fire(job: ScheduledJob, now: datetime, zone: tzinfo, server_name: str) -> Firing:
    """The schedule's own fire time has come (its trigger is Normal)."""
    assert job.next_fire_time is not None
    if job.exec_schedule:
        event = TriggerEvent.FIRE_RECURRING
        next_fire: datetime | None = schedules.parse(job.exec_schedule).next_fire(now, zone)
    else:
        event = TriggerEvent.FIRE_ONCE
        next_fire = None
    state = states.trigger_target(job.trigger_state, event)
    return Firing(new_run(job, job.next_fire_time, now, zone, server_name), state, next_fire)


def run_name(job_name: str, fire_time: datetime, zone: tzinfo) -> str:
    """IPS names a run `<jobName>_<yyyy-MM-dd-HH:mm:ss.SSS>` in the server's zone."""
    local = fire_time.astimezone(zone)
    return f"{job_name}_{local:%Y-%m-%d-%H:%M:%S}.{local.microsecond // 1000:03d}"


def new_run(
    job: ScheduledJob, fire_time: datetime, now: datetime, zone: tzinfo, server_name: str
) -> Run:
    return Run(
        id=0,
        company_id=job.company_id,
        scheduled_job_id=job.id,
        name=run_name(job.name, fire_time, zone),
        original_name=job.name,
        kind=job.kind,
        detail=job.detail,
        submit_user_email=job.submit_user_email,
        locale=job.locale,
        description=job.description,
        state=RunState.NEW,
        server_name=server_name,
        trigger_time=fire_time,
        start_date=now,
        last_progress_update=now,
        fire_time=fire_time,
        notify_email=job.notify_email,
        submit_user_id=job.submit_user_id,
    )
