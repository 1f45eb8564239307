"""SqlJobRepository: rows to domain objects and back, one transaction per call; driver errors
are wrapped here and never leave the store."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ips_jobs.domain import states
from ips_jobs.domain.jobs import (
    AssetLog,
    Company,
    JobSpec,
    LogAux,
    LogCounts,
    LogDetail,
    PostedFile,
    Run,
    RunDetails,
    RunState,
    ScheduledJob,
    TaskProgress,
    TriggerState,
    User,
)
from ips_jobs.domain.ports import LogPage, RunMaker, RunQuery
from ips_jobs.domain.states import RunEvent
from ips_jobs.errors import ApiError, NameInUse, StoreError
from ips_jobs.store.change_cache import ChangeCache
from ips_jobs.store.database import Database
from ips_jobs.store.driver import DriverStatement, insert_row
from ips_jobs.store.tables import (
    UtcDateTime,
    companies,
    job_log_details,
    job_runs,
    memberships,
    posted_files,
    scheduled_jobs,
    users,
)

_ACTIVE_STATES = sorted(states.ACTIVE_RUN_STATES)
_BUSY_STATES = sorted(states.ACTIVE_RUN_STATES - states.WAITING_RUN_STATES)
_TAKES_POSTS = sorted(states.run_sources(RunEvent.END_POSTS))
#: How many later milliseconds a run started at once tries when its name is taken.
_RUN_NAME_TRIES = 1000
COUNT_COLUMNS = {
    "file_success": "file_success_count",
    "file_error": "file_error_count",
    "file_warning": "file_warning_count",
    "file_duplicate": "file_duplicate_count",
    "file_update": "file_update_count",
    "total_file": "total_file_count",
    "transfer_success": "transfer_success_count",
    "transfer_error": "transfer_error_count",
    "transfer_warning": "transfer_warning_count",
}
_LOG_SORT = {
    "JobName": job_runs.c.name,
    "LogType": job_runs.c.log_type,
    "StartDate": job_runs.c.start_date,
    "CompanyName": companies.c.name,
    "UserId": job_runs.c.submit_user_id,
    "Email": job_runs.c.submit_user_email,
    "FileErrorCount": job_runs.c.file_error_count,
    "FileWarningCount": job_runs.c.file_warning_count,
    "FileSuccessCount": job_runs.c.file_success_count,
}


class SqlJobRepository:
    def __init__(self, database: Database) -> None:
        self.db = database
        #: Known users only: an unknown name (a typo, or a flood of made-up ones) is read
        #: again each time and costs no memory.
        self._logins: ChangeCache[User | None] = ChangeCache(database, keep=_known)
        self._insert_scheduled = DriverStatement(
            insert_row(scheduled_jobs).returning(scheduled_jobs.c.id), database.sql_dialect
        )
        self._insert_new_run = new_run_insert(database, returning=True)
        self._fire_now = DriverStatement(
            update(scheduled_jobs)
            .where(scheduled_jobs.c.id == bindparam("b_id"))
            .values(trigger_state=TriggerState.COMPLETE.value, next_fire_time=None),
            database.sql_dialect,
        )

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        with _wrapped(), self.db.read() as conn:
            yield conn

    @contextmanager
    def _writing(
        self, on_conflict: Callable[[IntegrityError], Exception] | None = None
    ) -> Iterator[Connection]:
        with _checked(on_conflict), self.db.write() as conn:
            yield conn

    # -- companies and users --------------------------------------------------------------
    def add_company(self, name: str, now: datetime, company_id: int | None = None) -> Company:
        """A new company; `company_id` asks for that id (seeding documented handles)."""
        root = "".join(ch for ch in name if ch.isalnum()) + "/"
        values: dict[str, Any] = {"name": name, "root_path": root, "created_at": now}
        if company_id is not None:
            values["id"] = company_id

        def conflict(_exc: IntegrityError) -> Exception:
            if company_id is None:
                return ApiError(f"Company name '{name}' is already in use.")
            return ApiError(f"Company name '{name}' or id {company_id} is already in use.")

        with self._writing(conflict) as c:
            new_id = c.execute(
                insert(companies).values(values).returning(companies.c.id)
            ).scalar_one()
            if company_id is not None and self.db.dialect == "postgresql":
                c.execute(
                    text(
                        "SELECT setval('companies_id_seq', "
                        "GREATEST((SELECT MAX(id) FROM companies), 1))"
                    )
                )
        return Company(new_id, name, root, now)

    def companies(self) -> Sequence[Company]:
        with self._reading() as c:
            rows = c.execute(select(companies).order_by(companies.c.id)).all()
        return [_company(r) for r in rows]

    def company(self, company_id: int) -> Company | None:
        with self._reading() as c:
            row = c.execute(select(companies).where(companies.c.id == company_id)).first()
        return _company(row) if row else None

    def company_by_name(self, name: str) -> Company | None:
        with self._reading() as c:
            row = c.execute(select(companies).where(companies.c.name == name)).first()
        return _company(row) if row else None

    def add_user(
        self, email: str, password_hash: str, role: str, company_ids: Collection[int]
    ) -> User:
        def conflict(_exc: IntegrityError) -> Exception:
            return ApiError(f"User '{email}' already exists or a company does not.")

        with self._writing(conflict) as c:
            user_id = c.execute(
                insert(users)
                .values(email=email, password_hash=password_hash, role=role)
                .returning(users.c.id)
            ).scalar_one()
            if company_ids:
                c.execute(
                    insert(memberships),
                    [{"user_id": user_id, "company_id": cid} for cid in company_ids],
                )
        return User(user_id, email, role, password_hash, company_ids=frozenset(company_ids))

    def users(self) -> Sequence[User]:
        with self._reading() as c:
            return _users(c, None)

    def user(self, user_id: int) -> User | None:
        with self._reading() as c:
            found = _users(c, users.c.id == user_id)
        return found[0] if found else None

    def user_by_email(self, email: str) -> User | None:
        """The login lookup, on every request: a known user is kept until an account
        changes."""
        return self._logins.get(email, lambda: self._user_by_email(email))

    def _user_by_email(self, email: str) -> User | None:
        with self._reading() as c:
            found = _user_rows(c.execute(_USER_BY_EMAIL, {"email": email}))
        return found[0] if found else None

    def has_users(self) -> bool:
        with self._reading() as c:
            return c.execute(select(users.c.id).limit(1)).first() is not None

    # -- scheduled jobs -------------------------------------------------------------------
    def add_scheduled_job(self, spec: JobSpec, fire_now: RunMaker | None = None) -> ScheduledJob:
        """With `fire_now`, the job is stored already fired (Complete, which frees its name)
        together with the run that `fire_now` makes, in one transaction. It is inserted live
        first all the same, so that a live job of that name refuses it."""
        values = {
            "company_id": spec.company_id,
            "name": spec.name,
            "kind": spec.kind,
            "detail": spec.detail,
            "submit_user_id": spec.submit_user_id,
            "email_user_id": spec.email_user_id,
            "locale": spec.locale,
            "description": spec.description,
            "exec_time": spec.exec_time,
            "exec_schedule": spec.exec_schedule,
            "time_zone": spec.time_zone,
            "next_fire_time": spec.next_fire_time,
            "trigger_state": TriggerState.NORMAL.value,
            "created_at": spec.created_at,
        }
        args = self._insert_scheduled.args(values)
        job = scheduled_from_row(
            {
                **values,
                "id": 0,
                "submit_user_email": spec.submit_user_email,
                "notify_email": spec.email_user_email,
            }
        )
        fire_time = spec.next_fire_time or spec.created_at
        # Converted here, not on the writing thread (which holds SQLite's write lock); the
        # job's id goes in once the job is inserted.
        run_args = (
            None
            if fire_now is None
            else self._insert_new_run.args(run_values(fire_now(job, fire_time)))
        )

        def insert(c: Connection) -> int:
            new_id = int(self._insert_scheduled.one(c, args))
            if run_args is None or fire_now is None:
                return new_id
            try:
                self._fire_now.many(c, [self._fire_now.args({"b_id": new_id})])
                run = self._insert_new_run.replaced(run_args, "scheduled_job_id", new_id)
                if self._insert_new_run.one(c, run) is None:  # its name was taken this ms
                    later = fire_time + timedelta(milliseconds=1)
                    self._start_run(c, replace(job, id=new_id), fire_now, later)
            except IntegrityError as exc:
                # Only the job's own insert may break a constraint (its name is taken); past
                # it, the whole write must be undone, never a job stored without its run
                # (group commit keeps a transaction whose statement broke a constraint).
                raise StoreError(f"the run of job '{spec.name}' could not be stored") from exc
            return new_id

        with _checked(lambda _e: NameInUse(spec.name)):
            new_id = self.db.write_together(insert)
        if fire_now is None:
            return replace(job, id=new_id)
        return replace(job, id=new_id, trigger_state=TriggerState.COMPLETE, next_fire_time=None)

    def add_job_run(self, job: ScheduledJob, make: RunMaker, fire_time: datetime) -> Run:
        with self._writing() as c:
            return self._start_run(c, job, make, fire_time)

    def _start_run(
        self, c: Connection, job: ScheduledJob, make: RunMaker, fire_time: datetime
    ) -> Run:
        """Inserts the run `make` makes of `job`. IPS names runs after their fire time to the
        millisecond: when that name is taken (the same job started twice in a millisecond),
        the run takes the next free millisecond."""
        for tried in range(_RUN_NAME_TRIES):
            run = make(job, fire_time + timedelta(milliseconds=tried))
            insert = self._insert_new_run
            new_id = insert.one(c, insert.args(run_values(run)))
            if new_id is not None:
                return replace(run, id=new_id)
        raise StoreError(f"no free run name for job '{job.name}'")

    def scheduled_jobs(
        self, company_ids: Collection[int], name: str | None = None
    ) -> Sequence[ScheduledJob]:
        where = [
            scheduled_jobs.c.company_id.in_(list(company_ids)),
            scheduled_jobs.c.trigger_state != TriggerState.COMPLETE.value,
        ]
        if name is not None:
            where.append(scheduled_jobs.c.name == name)
        with self._reading() as c:
            rows = c.execute(scheduled_select().where(*where).order_by(scheduled_jobs.c.id))
            return [scheduled_from_row(r._mapping) for r in rows]

    def scheduled_job(self, company_id: int, name: str) -> ScheduledJob | None:
        """The live job of that name, else the one that fired last."""
        complete = scheduled_jobs.c.trigger_state == TriggerState.COMPLETE.value
        stmt = (
            scheduled_select()
            .where(scheduled_jobs.c.company_id == company_id, scheduled_jobs.c.name == name)
            .order_by(complete, scheduled_jobs.c.id.desc())
            .limit(1)
        )
        with self._reading() as c:
            row = c.execute(stmt).first()
        return scheduled_from_row(row._mapping) if row else None

    def set_trigger_state(
        self, job_id: int, expected: Collection[TriggerState], new: TriggerState
    ) -> bool:
        with self._writing() as c:
            result = c.execute(
                update(scheduled_jobs)
                .where(
                    scheduled_jobs.c.id == job_id,
                    scheduled_jobs.c.trigger_state.in_([s.value for s in expected]),
                )
                .values(trigger_state=new.value)
            )
        return result.rowcount == 1

    def hold_runs(self, query: RunQuery, at: datetime) -> int:
        with self._writing() as c:
            return int(
                c.execute(
                    update(job_runs)
                    .where(*_run_filter(replace(query, active_only=True)))
                    .where(job_runs.c.paused_at.is_(None))
                    .values(paused_at=at)
                ).rowcount
            )

    def release_runs(self, query: RunQuery) -> int:
        with self._writing() as c:
            return int(
                c.execute(
                    update(job_runs)
                    .where(*_run_filter(query), job_runs.c.paused_at.is_not(None))
                    .values(paused_at=None)
                ).rowcount
            )

    def delete_scheduled_job(self, company_id: int, name: str, now: datetime) -> None:
        named = (scheduled_jobs.c.company_id == company_id, scheduled_jobs.c.name == name)
        with self._writing() as c:
            c.execute(
                update(job_runs)
                .where(
                    job_runs.c.scheduled_job_id.in_(select(scheduled_jobs.c.id).where(*named)),
                    job_runs.c.state.in_(sorted(states.run_sources(RunEvent.STOP))),
                )
                .values(
                    stop_requested_at=func.coalesce(
                        job_runs.c.stop_requested_at, literal(now, UtcDateTime())
                    ),
                    state=RunState.STOPPING.value,
                )
            )
            c.execute(delete(scheduled_jobs).where(*named))

    # -- runs and logs --------------------------------------------------------------------
    def add_run(self, run: Run) -> Run:
        values = run_values(run)
        with self._writing() as c:
            new_id = c.execute(
                insert(job_runs).values(values).returning(job_runs.c.id)
            ).scalar_one()
        return Run(**{**_run_fields(run), "id": new_id})

    # -- uploadPost jobs -------------------------------------------------------------------
    def open_upload(self, run: Run, files: Sequence[PostedFile]) -> Run | None:
        insert = self._insert_new_run
        with self._writing() as c:
            new_id = insert.one(c, insert.args(run_values(run)))
            if new_id is None:
                return None
            _add_posted(c, new_id, files)
        return replace(run, id=new_id)

    def add_posted(
        self, run_id: int, files: Sequence[PostedFile], end: bool, waits_until: datetime
    ) -> bool:
        values: dict[str, Any] = {"waits_until": waits_until}
        if end:
            ended = states.run_target(RunState.WAITING_CLIENT, RunEvent.END_POSTS)
            values.update(state=ended.value, waits_until=None)
        with self._writing() as c:
            waiting = c.execute(
                update(job_runs)
                .where(job_runs.c.id == run_id, job_runs.c.state.in_(_TAKES_POSTS))
                .values(values)
            )
            if waiting.rowcount != 1:
                return False
            _add_posted(c, run_id, files)
        return True

    def posted_files(self, run_id: int) -> Sequence[PostedFile]:
        with self._reading() as c:
            rows = c.execute(
                select(posted_files)
                .where(posted_files.c.run_id == run_id)
                .order_by(posted_files.c.id)
            ).all()
        return [PostedFile(r.path, r.file_key, r.size, r.posted_at) for r in rows]

    def add_log_details(self, details: Sequence[LogDetail]) -> None:
        if not details:
            return
        with self._writing() as c:
            c.execute(insert(job_log_details), [detail_values(d) for d in details])

    def runs(
        self,
        query: RunQuery,
        order_by: str = "StartDate",
        descending: bool = True,
        limit: int | None = None,
    ) -> Sequence[Run]:
        column = _LOG_SORT[order_by]
        stmt = select(job_runs).where(*_run_filter(query))
        if order_by == "CompanyName":
            stmt = stmt.join(companies, companies.c.id == job_runs.c.company_id)
        stmt = stmt.order_by(column.desc() if descending else column.asc(), job_runs.c.id)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._reading() as c:
            return [run_from_row(r._mapping) for r in c.execute(stmt)]

    def request_stop(self, run_id: int, now: datetime) -> bool:
        with self._writing() as c:
            result = c.execute(
                update(job_runs)
                .where(
                    job_runs.c.id == run_id,
                    job_runs.c.state.in_(sorted(states.run_sources(RunEvent.STOP))),
                )
                .values(
                    stop_requested_at=func.coalesce(
                        job_runs.c.stop_requested_at, literal(now, UtcDateTime())
                    ),
                    state=RunState.STOPPING.value,
                )
            )
        return result.rowcount == 1

    def run_details(self, query: RunQuery, page: LogPage) -> Sequence[RunDetails]:
        detail_filter = []
        if page.log_types is not None:
            detail_filter.append(job_log_details.c.log_type.in_(list(page.log_types)))
        sort = (
            job_log_details.c.log_type
            if page.sort_by == "LogType"
            else job_log_details.c.date_created
        )
        order = [sort.desc() if page.descending else sort.asc(), job_log_details.c.id]
        found: list[RunDetails] = []
        with self._reading() as c:
            stmt = (
                select(job_runs).where(*_run_filter(query)).order_by(job_runs.c.start_date.desc())
            )
            for row in c.execute(stmt).all():
                where = [job_log_details.c.run_id == row.id, *detail_filter]
                total = c.execute(
                    select(func.count()).select_from(job_log_details).where(*where)
                ).scalar_one()
                rows = c.execute(
                    select(job_log_details)
                    .where(*where)
                    .order_by(*order)
                    .limit(page.records_per_page)
                    .offset((page.page - 1) * page.records_per_page)
                )
                found.append(
                    RunDetails(run_from_row(row._mapping), total, tuple(_detail(d) for d in rows))
                )
        return found

    def asset_logs(self, company_id: int, asset_handle: str) -> Sequence[AssetLog]:
        stmt = (
            select(job_runs, job_log_details.c.id.label("detail_id"))
            .join(job_log_details, job_log_details.c.run_id == job_runs.c.id)
            .where(
                job_runs.c.company_id == company_id, job_log_details.c.asset_handle == asset_handle
            )
            .order_by(job_log_details.c.date_created, job_log_details.c.id)
        )
        with self._reading() as c:
            pairs = c.execute(stmt).all()
            ids = [p.detail_id for p in pairs]
            details = {
                d.id: _detail(d)
                for d in c.execute(select(job_log_details).where(job_log_details.c.id.in_(ids)))
            }
        return [AssetLog(run_from_row(p._mapping), details[p.detail_id]) for p in pairs]


class _Conflict(Exception):
    def __init__(self, original: IntegrityError) -> None:
        super().__init__(str(original))
        self.original = original


@contextmanager
def _wrapped() -> Iterator[None]:
    """Driver errors become StoreError; integrity errors are handed to the caller's mapping."""
    try:
        yield
    except IntegrityError as exc:
        raise _Conflict(exc) from exc
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {exc.__class__.__name__}: {exc.orig or exc}") from exc


@contextmanager
def _checked(on_conflict: Callable[[IntegrityError], Exception] | None) -> Iterator[None]:
    """_wrapped(), with a broken constraint as `on_conflict`'s error (None: a StoreError)."""
    try:
        with _wrapped():
            yield
    except _Conflict as conflict:
        if on_conflict is None:
            raise StoreError(f"constraint violated: {conflict.original.orig}") from conflict
        raise on_conflict(conflict.original) from conflict.original


def _known(user: User | None) -> bool:
    return user is not None


def _company(row: Row[Any]) -> Company:
    return Company(row.id, row.name, row.root_path, row.created_at)


_USERS_WITH_COMPANIES = select(users, memberships.c.company_id).outerjoin(
    memberships, memberships.c.user_id == users.c.id
)
#: Statements built once: building them per call cost more than running them.
_USER_BY_EMAIL = _USERS_WITH_COMPANIES.where(users.c.email == bindparam("email"))


def _users(c: Connection, where: Any) -> list[User]:
    stmt = _USERS_WITH_COMPANIES
    if where is not None:
        stmt = stmt.where(where)
    return _user_rows(c.execute(stmt.order_by(users.c.id)))


def _user_rows(rows: Iterable[Row[Any]]) -> list[User]:
    by_id: dict[int, tuple[Row[Any], set[int]]] = {}
    for row in rows:
        entry = by_id.setdefault(row.id, (row, set()))
        if row.company_id is not None:
            entry[1].add(row.company_id)
    return [
        User(r.id, r.email, r.role, r.password_hash, r.first_name, r.last_name, frozenset(ids))
        for r, ids in by_id.values()
    ]


_NOTIFY = users.alias("notify")


def scheduled_select() -> Any:
    """Jobs with their submitter's and their e-mail user's addresses (a run they start names
    the latter in its last log row)."""
    return (
        select(
            scheduled_jobs,
            users.c.email.label("submit_user_email"),
            _NOTIFY.c.email.label("notify_email"),
        )
        .join(users, users.c.id == scheduled_jobs.c.submit_user_id)
        .join(_NOTIFY, _NOTIFY.c.id == scheduled_jobs.c.email_user_id)
    )


def scheduled_from_row(m: Any) -> ScheduledJob:
    return ScheduledJob(
        id=m["id"],
        company_id=m["company_id"],
        name=m["name"],
        kind=m["kind"],
        detail=m["detail"],
        submit_user_email=m["submit_user_email"],
        locale=m["locale"],
        description=m["description"],
        exec_time=m["exec_time"],
        exec_schedule=m["exec_schedule"],
        time_zone=m["time_zone"],
        next_fire_time=m["next_fire_time"],
        trigger_state=TriggerState(m["trigger_state"]),
        created_at=m["created_at"],
        notify_email=m.get("notify_email"),
        submit_user_id=m.get("submit_user_id"),
    )


def _run_filter(query: RunQuery) -> list[Any]:
    where: list[Any] = [job_runs.c.company_id.in_(list(query.company_ids))]
    if query.run_id is not None:
        where.append(job_runs.c.id == query.run_id)
    if query.run_name is not None:
        where.append(job_runs.c.name == query.run_name)
    if query.original_name is not None:
        where.append(job_runs.c.original_name == query.original_name)
    if query.submit_user_id is not None:
        where.append(job_runs.c.submit_user_id == query.submit_user_id)
    if query.active_only:
        active = _ACTIVE_STATES if query.include_waiting else _BUSY_STATES
        where.append(job_runs.c.state.in_(active))
    if query.started_from is not None:
        where.append(job_runs.c.start_date >= query.started_from)
    if query.started_until is not None:
        where.append(job_runs.c.start_date <= query.started_until)
    return where


def _add_posted(c: Connection, run_id: int, files: Sequence[PostedFile]) -> None:
    if files:
        c.execute(
            insert(posted_files),
            [
                {
                    "run_id": run_id,
                    "path": f.path,
                    "file_key": f.key,
                    "size": f.size,
                    "posted_at": f.posted_at,
                }
                for f in files
            ],
        )


def _run_fields(run: Run) -> dict[str, Any]:
    return {f: getattr(run, f) for f in run.__dataclass_fields__}


def tasks_value(tasks: Sequence[TaskProgress]) -> list[dict[str, Any]]:
    """TaskProgress items as stored in the JSON `tasks` column."""
    return [
        {**asdict(t), "last_progress_update": t.last_progress_update.isoformat()} for t in tasks
    ]


#: A run's columns, as run_values gives them.
RUN_COLUMNS = (
    *(name for name in Run.__dataclass_fields__ if name not in ("id", "counts")),
    *COUNT_COLUMNS.values(),
)


def new_run_insert(database: Database, returning: bool = False) -> DriverStatement:
    """An INSERT of a run (its run_values) that inserts nothing when the run's name, or its
    job's fire time, is taken already; with `returning`, it answers the new run's id."""
    insert_ = sqlite_insert if database.is_sqlite else postgresql_insert
    statement = (
        insert_(job_runs).values({name: bindparam(name) for name in RUN_COLUMNS})
    ).on_conflict_do_nothing()
    if returning:
        statement = statement.returning(job_runs.c.id)
    return DriverStatement(statement, database.sql_dialect)


def run_values(run: Run) -> dict[str, Any]:
    values = _run_fields(run)
    values.pop("id")
    values["state"] = run.state.value
    values["tasks"] = tasks_value(run.tasks)
    counts = values.pop("counts")
    for name, column in COUNT_COLUMNS.items():
        values[column] = getattr(counts, name)
    return values


def run_from_row(m: Mapping[str, Any]) -> Run:
    tasks = tuple(
        TaskProgress(
            **{**t, "last_progress_update": datetime.fromisoformat(t["last_progress_update"])}
        )
        for t in m["tasks"]
    )
    counts = LogCounts(**{name: m[column] for name, column in COUNT_COLUMNS.items()})
    return Run(
        id=m["id"],
        company_id=m["company_id"],
        scheduled_job_id=m["scheduled_job_id"],
        name=m["name"],
        original_name=m["original_name"],
        kind=m["kind"],
        detail=m["detail"],
        submit_user_email=m["submit_user_email"],
        locale=m["locale"],
        description=m["description"],
        state=RunState(m["state"]),
        server_name=m["server_name"],
        trigger_time=m["trigger_time"],
        start_date=m["start_date"],
        total_size=m["total_size"],
        progress=m["progress"],
        progress_message=m["progress_message"],
        last_progress_update=m["last_progress_update"],
        tasks=tasks,
        log_type=m["log_type"],
        job_sub_type=m["job_sub_type"],
        end_date=m["end_date"],
        counts=counts,
        fatal_error=m["fatal_error"],
        submit_user_id=m["submit_user_id"],
        fire_time=m["fire_time"],
        notify_email=m["notify_email"],
        step=m["step"],
        stop_requested_at=m["stop_requested_at"],
        seconds=m["seconds"],
        manual=m["manual"],
        advance_to=m["advance_to"],
        advance_outcome=m["advance_outcome"],
        injected=m["injected"],
        paused_at=m["paused_at"],
        client_address=m["client_address"],
        waits_until=m["waits_until"],
    )


def detail_values(d: LogDetail) -> dict[str, Any]:
    return {
        "run_id": d.run_id,
        "date_created": d.date_created,
        "log_type": d.log_type,
        "log_message": d.log_message,
        "asset_name": d.asset_name,
        "asset_type": d.asset_type,
        "asset_handle": d.asset_handle,
        "aux": [
            {
                "log_message": a.log_message,
                "log_type": a.log_type,
                "date_created": a.date_created.isoformat() if a.date_created else None,
            }
            for a in d.aux
        ],
    }


def _detail(row: Row[Any]) -> LogDetail:
    return LogDetail(
        run_id=row.run_id,
        date_created=row.date_created,
        log_type=row.log_type,
        log_message=row.log_message,
        asset_name=row.asset_name,
        asset_type=row.asset_type,
        asset_handle=row.asset_handle,
        aux=tuple(
            LogAux(
                a["log_message"],
                a["log_type"],
                datetime.fromisoformat(a["date_created"]) if a["date_created"] else None,
            )
            for a in row.aux
        ),
    )
