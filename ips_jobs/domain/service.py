"""The use cases behind every operation. Callers pass plain values; handles are parsed here
(both forms), and everything returned is a domain object the wire layer renders."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from ips_jobs.clock import Clock
from ips_jobs.domain import (
    access,
    constants,
    defaults,
    firing,
    handles,
    schedules,
    states,
    validation,
)
from ips_jobs.domain.handles import DefinitionRef, RunRef
from ips_jobs.domain.jobs import (
    AssetLog,
    Company,
    Detail,
    JobSpec,
    Run,
    RunDetails,
    ScheduledJob,
    User,
)
from ips_jobs.domain.passwords import PasswordChecker
from ips_jobs.domain.ports import JobRepository, LogPage, RunMaker, RunQuery
from ips_jobs.domain.states import TriggerEvent
from ips_jobs.errors import (
    IllegalRequestUser,
    InvalidCredentials,
    InvalidParameter,
    MissingParameter,
    NoCredentials,
    NotFound,
    WrongState,
)


class JobService:
    def __init__(
        self,
        repository: JobRepository,
        clock: Clock,
        passwords: PasswordChecker,
        time_zone: ZoneInfo,
        server_name: str,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.passwords = passwords
        self.time_zone = time_zone
        #: What the runs started here (not by the engine) report as their serverName.
        self.server_name = server_name

    # -- who is calling -------------------------------------------------------------------
    def login(self, email: str | None, password: str | None, operation: str) -> User:
        """Authenticates the caller and checks the role table for the operation."""
        user = self.authenticate(email, password)
        access.require_operation(user, operation)
        return user

    def authenticate(self, email: str | None, password: str | None) -> User:
        if not email or password is None:
            raise NoCredentials()
        user = self.repository.user_by_email(email.strip())
        if user is None or not self.passwords.verify(user.password_hash, password):
            raise InvalidCredentials()
        return user

    def check_login(self, company_handle: str | None, email: str, password: str) -> bool:
        try:
            user = self.authenticate(email, password)
        except (NoCredentials, InvalidCredentials):
            return False
        if company_handle:
            return handles.parse_company(company_handle) in user.company_ids
        return True

    # -- companies and users --------------------------------------------------------------
    def company_info(self, caller: User, company_handle: str | None, name: str | None) -> Company:
        if company_handle:
            return self._company(caller, self.company_id(caller, company_handle))
        wanted = validation.required_text(name, "companyName")
        company = self.repository.company_by_name(wanted)
        if company is None or company.id not in caller.company_ids:
            raise InvalidParameter("companyName", f"no company named '{wanted}'")
        return company

    def user_info(self, caller: User, user_handle: str | None, email: str | None) -> User:
        """The caller, or a user who shares a company with the caller."""
        if user_handle:
            found = self.repository.user(handles.parse_user(user_handle))
            field, wanted = "userHandle", user_handle
        elif email:
            found = self.repository.user_by_email(email.strip())
            field, wanted = "email", email
        else:
            return caller
        if found is None or not (found.company_ids & caller.company_ids or found.id == caller.id):
            raise InvalidParameter(field, f"no user '{wanted}'")
        return found

    # -- submitJob ------------------------------------------------------------------------
    def submit(
        self,
        caller: User,
        *,
        company_handle: str | None,
        user_handle: str | None,
        job_name: str | None,
        locale: str | None,
        exec_time: datetime | None,
        exec_schedule: str | None,
        description: str | None,
        job_types: Mapping[str, Detail | None],
        request_locale: str | None = None,
    ) -> ScheduledJob:
        """A job without a `locale` of its own takes the request's, else the server default.
        A job with no future fire time (no execTime and no execSchedule, or an execTime that
        has passed) starts its run here, in the same transaction, and frees its name at once:
        whether a name is taken never depends on how far the engine has got."""
        company_id = self.company_id(caller, company_handle)
        name = validation.job_name(job_name)
        kind, detail = validation.one_job_type(job_types)
        email_user = self._member(company_id, user_handle) if user_handle else caller
        if exec_time is not None and exec_schedule is not None:
            raise InvalidParameter("execSchedule", "give execTime or execSchedule, not both")
        now = self.clock.now()
        if exec_schedule is not None:
            next_fire = schedules.parse(exec_schedule).next_fire(now, self.time_zone)
        elif exec_time is not None:
            if exec_time.tzinfo is None:
                exec_time = exec_time.replace(tzinfo=self.time_zone)
            next_fire = exec_time
        else:
            next_fire = now
        spec = JobSpec(
            company_id=company_id,
            name=name,
            kind=kind,
            detail=defaults.with_defaults(kind, detail),
            submit_user_id=caller.id,
            submit_user_email=caller.email,
            email_user_id=email_user.id,
            email_user_email=email_user.email,
            locale=validation.job_locale(locale, request_locale),
            description=description,
            exec_time=exec_time,
            exec_schedule=exec_schedule,
            time_zone=self.time_zone.key,
            next_fire_time=next_fire,
            created_at=now,
        )
        fires_now = exec_schedule is None and next_fire <= now
        return self.repository.add_scheduled_job(spec, self._run_maker(now) if fires_now else None)

    def _run_maker(self, now: datetime) -> RunMaker:
        def make(job: ScheduledJob, fire_time: datetime) -> Run:
            return firing.new_run(job, fire_time, now, self.time_zone, self.server_name)

        return make

    # -- queries --------------------------------------------------------------------------
    def scheduled_jobs(
        self,
        caller: User,
        company_handle: str | None,
        job_handle: str | None,
        original_name: str | None,
    ) -> Sequence[ScheduledJob]:
        company_ids = self._scope(caller, company_handle)
        name = original_name
        if job_handle:
            ref = handles.parse_job(job_handle)
            if not isinstance(ref, DefinitionRef):
                raise InvalidParameter("jobHandle", f"'{job_handle}' is not a scheduled job")
            company_ids = [c for c in company_ids if c == ref.company_id]
            if original_name and original_name != ref.name:
                return []
            name = ref.name
            found = self.repository.scheduled_jobs(company_ids, name)
            # A job that has fired for good is no longer scheduled; one never submitted is
            # not found.
            if not found and not any(self.repository.scheduled_job(c, name) for c in company_ids):
                raise NotFound("jobHandle", job_handle)
            return found
        return self.repository.scheduled_jobs(company_ids, name)

    def active_jobs(
        self,
        caller: User,
        company_handle: str | None,
        job_handle: str | None,
        original_name: str | None,
        include_waiting: bool = False,
    ) -> Sequence[Run]:
        query = self._run_query(caller, company_handle, job_handle, original_name)
        active = replace(query, active_only=True, include_waiting=include_waiting)
        return self.repository.runs(active, "StartDate", False)

    def job_logs(
        self,
        caller: User,
        company_handle: str | None,
        user_handle: str | None,
        sort_by: str | None,
        sort_direction: str | None,
        start_date: datetime | None,
        end_date: datetime | None,
        num_rows: int | None,
    ) -> Sequence[Run]:
        company_ids = self._scope(caller, company_handle)
        validation.optional_one_of(sort_by, constants.JOB_LOG_SORT_FIELDS, "sortBy")
        validation.optional_one_of(sort_direction, constants.SORT_DIRECTIONS, "sortDirection")
        limit = validation.positive(num_rows, "numRows", default=1000)
        submit_user = None
        if user_handle:
            submit_user = handles.parse_user(user_handle)
        query = RunQuery(
            company_ids=company_ids,
            submit_user_id=submit_user,
            started_from=start_date,
            started_until=end_date,
        )
        # Without sortBy the logs come in date order, in sortDirection's direction.
        descending = sort_direction != "Ascending"
        return self.repository.runs(query, sort_by or "StartDate", descending, limit)

    def job_log_details(
        self,
        caller: User,
        company_handle: str | None,
        job_handle: str | None,
        original_name: str | None,
        log_types: Collection[str] | None,
        records_per_page: int | None,
        results_page: int | None,
        sort_by: str | None,
        sort_direction: str | None,
    ) -> Sequence[RunDetails]:
        if not company_handle:
            raise MissingParameter("companyHandle")
        query = self._run_query(caller, company_handle, job_handle, original_name)
        # A log type IPS does not know is a filter that matches nothing, as on IPS.
        validation.optional_one_of(sort_by, constants.DETAIL_SORT_FIELDS, "sortBy")
        validation.optional_one_of(sort_direction, constants.SORT_DIRECTIONS, "sortDirection")
        page = LogPage(
            log_types=list(log_types) if log_types else None,
            records_per_page=validation.page_size(records_per_page),
            page=validation.positive(results_page, "resultsPage", default=1),
            sort_by=sort_by or "Date",
            descending=sort_direction == "Descending",
        )
        return self.repository.run_details(query, page)

    def asset_job_logs(
        self, caller: User, company_handle: str | None, asset_handle: str | None
    ) -> Sequence[AssetLog]:
        company_id = self.company_id(caller, company_handle)
        asset = validation.required_text(asset_handle, "assetHandle")
        return self.repository.asset_logs(company_id, asset)

    # -- controls -------------------------------------------------------------------------
    def stop_job(self, caller: User, company_handle: str | None, job_handle: str | None) -> None:
        runs = self._target_runs(caller, company_handle, job_handle)
        now = self.clock.now()
        stopped = [run for run in runs if self.repository.request_stop(run.id, now)]
        if not stopped:
            raise WrongState(f"Job '{job_handle}' is not running")

    def pause_job(self, caller: User, company_handle: str | None, job_handle: str | None) -> None:
        """Pauses the job's future fire times and holds the progress of its runs in progress
        (a run handle: that run alone); a job with nothing to pause is paused all the same."""
        self._pause_or_resume(caller, company_handle, job_handle, TriggerEvent.PAUSE)

    def resume_job(self, caller: User, company_handle: str | None, job_handle: str | None) -> None:
        self._pause_or_resume(caller, company_handle, job_handle, TriggerEvent.RESUME)

    def execute_job(self, caller: User, company_handle: str | None, job_handle: str | None) -> Run:
        """One more run of the job, now, whatever its trigger's state; stored before the call
        returns, so that a stopJob right after finds it."""
        job = self._scheduled(caller, company_handle, job_handle)
        return self.execute(job)

    def execute(self, job: ScheduledJob) -> Run:
        now = self.clock.now()
        return self.repository.add_job_run(job, self._run_maker(now), now)

    def delete_job(self, caller: User, company_handle: str | None, job_handle: str | None) -> None:
        company_id = self.company_id(caller, company_handle)
        ref = self.job_ref(job_handle, company_id)
        if isinstance(ref, RunRef):
            self.stop_job(caller, company_handle, job_handle)
            return
        if self.repository.scheduled_job(company_id, ref.name) is None:
            raise NotFound("jobHandle", str(job_handle))
        self.repository.delete_scheduled_job(company_id, ref.name, self.clock.now())

    # -- helpers --------------------------------------------------------------------------
    def _pause_or_resume(
        self,
        caller: User,
        company_handle: str | None,
        job_handle: str | None,
        event: TriggerEvent,
    ) -> None:
        company_id = self.company_id(caller, company_handle)
        ref = self.job_ref(job_handle, company_id)
        runs = _query_for(ref, [company_id], active_only=True)
        if isinstance(ref, RunRef):
            if not self.repository.runs(replace(runs, active_only=False)):
                raise NotFound("jobHandle", str(job_handle))
        else:
            job = self.repository.scheduled_job(company_id, ref.name)
            if job is None:
                raise NotFound("jobHandle", str(job_handle))
            target = states.trigger_target(job.trigger_state, event)
            if target is not job.trigger_state and not self.repository.set_trigger_state(
                job.id, states.trigger_sources(event, target), target
            ):
                raise WrongState(f"Job '{job.name}' changed state; try again")
        if event is TriggerEvent.PAUSE:
            self.repository.hold_runs(runs, self.clock.now())
        else:
            self.repository.release_runs(runs)

    def _scheduled(
        self, caller: User, company_handle: str | None, job_handle: str | None
    ) -> ScheduledJob:
        company_id = self.company_id(caller, company_handle)
        ref = self.job_ref(job_handle, company_id)
        if not isinstance(ref, DefinitionRef):
            raise InvalidParameter("jobHandle", f"'{job_handle}' is a run, not a scheduled job")
        job = self.repository.scheduled_job(company_id, ref.name)
        if job is None:
            raise NotFound("jobHandle", str(job_handle))
        return job

    def _target_runs(
        self, caller: User, company_handle: str | None, job_handle: str | None
    ) -> Sequence[Run]:
        company_id = self.company_id(caller, company_handle)
        ref = self.job_ref(job_handle, company_id)
        query = _query_for(ref, [company_id], active_only=True)
        runs = self.repository.runs(query)
        if not runs:
            exists = (
                self.repository.runs(replace(query, active_only=False))
                if isinstance(ref, RunRef)
                else self.repository.scheduled_job(company_id, ref.name)
            )
            if not exists:
                raise NotFound("jobHandle", str(job_handle))
        return runs

    def _run_query(
        self,
        caller: User,
        company_handle: str | None,
        job_handle: str | None,
        original_name: str | None,
    ) -> RunQuery:
        company_ids = self._scope(caller, company_handle)
        if not job_handle:
            return RunQuery(company_ids=company_ids, original_name=original_name)
        ref = handles.parse_job(job_handle)
        scoped = [c for c in company_ids if c == ref.company_id]
        query = _query_for(ref, scoped)
        if original_name:
            if query.original_name and query.original_name != original_name:
                return RunQuery(company_ids=[])
            query = replace(query, original_name=original_name)
        return query

    def _scope(self, caller: User, company_handle: str | None) -> list[int]:
        if company_handle:
            return [self.company_id(caller, company_handle)]
        return sorted(caller.company_ids)

    def company_id(self, caller: User, company_handle: str | None) -> int:
        handle = validation.required_text(company_handle, "companyHandle")
        company_id = handles.parse_company(handle)
        if company_id not in caller.company_ids and self.repository.company(company_id) is None:
            raise InvalidParameter("companyHandle", f"no company '{handle}'")
        access.require_company(caller, company_id, handle)
        return company_id

    def _company(self, caller: User, company_id: int) -> Company:
        company = self.repository.company(company_id)
        if company is None:
            raise InvalidParameter("companyHandle", f"no company '{company_id}'")
        return company

    def _member(self, company_id: int, user_handle: str) -> User:
        user = self.repository.user(handles.parse_user(user_handle))
        if user is None or company_id not in user.company_ids:
            raise IllegalRequestUser(user_handle)
        return user

    def job_ref(self, job_handle: str | None, company_id: int) -> handles.JobRef:
        text = validation.required_text(job_handle, "jobHandle")
        ref = handles.parse_job(text)
        if ref.company_id != company_id:
            raise NotFound("jobHandle", text)
        return ref


def _query_for(
    ref: handles.JobRef, company_ids: Collection[int], active_only: bool = False
) -> RunQuery:
    if isinstance(ref, RunRef):
        return RunQuery(
            company_ids=company_ids,
            run_id=ref.run_id,
            run_name=ref.run_name,
            active_only=active_only,
        )
    return RunQuery(company_ids=company_ids, original_name=ref.name, active_only=active_only)
