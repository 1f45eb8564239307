"""What the domain needs from storage. Implemented by store.repository.SqlJobRepository;
every method is one transaction, and no storage exception crosses this line."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ips_jobs.domain.jobs import (
    AssetLog,
    Company,
    JobSpec,
    LogDetail,
    Run,
    RunDetails,
    ScheduledJob,
    TriggerState,
    User,
)

#: Makes the run a scheduled job starts at a fire time (see firing.new_run).
RunMaker = Callable[[ScheduledJob, datetime], Run]


@dataclass(frozen=True)
class RunQuery:
    """Which runs a query is about. Empty company_ids matches nothing."""

    company_ids: Collection[int]
    run_id: int | None = None
    run_name: str | None = None
    original_name: str | None = None
    submit_user_id: int | None = None
    active_only: bool = False
    started_from: datetime | None = None
    started_until: datetime | None = None


@dataclass(frozen=True)
class LogPage:
    log_types: Collection[str] | None
    records_per_page: int
    page: int
    sort_by: str
    descending: bool


class JobRepository(Protocol):
    # companies and users
    def add_company(self, name: str, now: datetime, company_id: int | None = None) -> Company:
        """Raises ApiError when the name (or the asked-for id) is taken."""
        ...

    def companies(self) -> Sequence[Company]: ...

    def company(self, company_id: int) -> Company | None: ...

    def company_by_name(self, name: str) -> Company | None: ...

    def add_user(
        self, email: str, password_hash: str, role: str, company_ids: Collection[int]
    ) -> User: ...

    def users(self) -> Sequence[User]: ...

    def user(self, user_id: int) -> User | None: ...

    def user_by_email(self, email: str) -> User | None: ...

    def has_users(self) -> bool: ...

    # scheduled jobs
    def add_scheduled_job(self, spec: JobSpec, fire_now: RunMaker | None = None) -> ScheduledJob:
        """Raises NameInUse when the company already has a live job of that name. With
        `fire_now` the job, which has no future fire time, is stored fired (Complete: its name
        is free again) with the run `fire_now` makes at its fire time, in one transaction."""
        ...

    def add_job_run(self, job: ScheduledJob, make: RunMaker, fire_time: datetime) -> Run:
        """Stores the run `make` makes of `job` (executeJob); if the run's name is taken
        (two starts in one millisecond), a millisecond later."""
        ...

    def scheduled_jobs(
        self, company_ids: Collection[int], name: str | None = None
    ) -> Sequence[ScheduledJob]:
        """What is scheduled: jobs that have not fired for good (not Complete)."""
        ...

    def scheduled_job(self, company_id: int, name: str) -> ScheduledJob | None:
        """The live job of that name, else the last one of that name that fired."""
        ...

    def set_trigger_state(
        self, job_id: int, expected: Collection[TriggerState], new: TriggerState
    ) -> bool:
        """Changes the state only from one of `expected`; False when it was not."""
        ...

    def hold_runs(self, query: RunQuery, at: datetime) -> int:
        """pauseJob: the engine holds the progress of the active runs `query` names."""
        ...

    def release_runs(self, query: RunQuery) -> int:
        """resumeJob: their progress moves on again."""
        ...

    def delete_scheduled_job(self, company_id: int, name: str, now: datetime) -> None:
        """Removes the job of that name (the live one and those that fired) and asks its
        active runs to stop."""
        ...

    # runs and logs
    def add_run(self, run: Run) -> Run:
        """Stores a new run; the given id is ignored and a new one assigned."""
        ...

    def add_log_details(self, details: Sequence[LogDetail]) -> None: ...

    def runs(
        self,
        query: RunQuery,
        order_by: str = "StartDate",
        descending: bool = True,
        limit: int | None = None,
    ) -> Sequence[Run]: ...

    def request_stop(self, run_id: int, now: datetime) -> bool:
        """Asks an active run to stop; False when it is no longer active."""
        ...

    def run_details(self, query: RunQuery, page: LogPage) -> Sequence[RunDetails]: ...

    def asset_logs(self, company_id: int, asset_handle: str) -> Sequence[AssetLog]: ...
