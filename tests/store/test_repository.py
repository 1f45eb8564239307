"""The repository contract, run against SQLite and PostgreSQL alike.

Creating and migrating a database per test is most of the time such a suite takes, so this
module migrates one database per backend and empties its tables after each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import (
    _database_params,
    drop_postgres_database,
    postgres_base_url,
)
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ips_jobs.domain import firing
from ips_jobs.domain.jobs import (
    Company,
    JobSpec,
    LogAux,
    LogCounts,
    LogDetail,
    PostedFile,
    Run,
    RunState,
    ScheduledJob,
    TaskProgress,
    TriggerState,
    User,
)
from ips_jobs.domain.ports import LogPage, RunQuery
from ips_jobs.errors import ApiError, NameInUse, StoreError
from ips_jobs.store.claim import EngineStore
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import scheduled_jobs

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PLUS_TWO = timezone(timedelta(hours=2))


# -- databases ----------------------------------------------------------------------------------
@pytest.fixture
def database_url(emptied_database_url: str) -> str:
    """Overrides conftest's: one migrated database for the module, emptied after each test."""
    return emptied_database_url


@pytest.fixture(params=_database_params())
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that was never migrated: no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = postgres_base_url()
    assert base is not None
    server = make_url(base).set(drivername="postgresql+psycopg")
    url = server.set(database=f"ipsjobs_empty_{uuid.uuid4().hex[:12]}")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    yield url.render_as_string(hide_password=False)
    drop_postgres_database(base, url.render_as_string(hide_password=False))


@dataclass(frozen=True)
class World:
    acme: Company
    other: Company
    alice: User  # member of acme
    bob: User  # member of other


@pytest.fixture
def world(repository: SqlJobRepository) -> World:
    acme = repository.add_company("Acme", NOW)
    other = repository.add_company("Other Co", NOW)
    alice = repository.add_user("alice@acme.test", "hash-a", "IpsUser", [acme.id])
    bob = repository.add_user("bob@other.test", "hash-b", "IpsAdmin", [other.id])
    return World(acme, other, alice, bob)


def spec(company: Company, user: User, name: str, **changes: object) -> JobSpec:
    values: dict[str, object] = {
        "company_id": company.id,
        "name": name,
        "kind": "imageServingPublishJob",
        "detail": {"publishType": "Full", "emailSetting": "Error"},
        "submit_user_id": user.id,
        "submit_user_email": user.email,
        "email_user_id": user.id,
        "email_user_email": user.email,
        "locale": None,
        "description": None,
        "exec_time": None,
        "exec_schedule": None,
        "time_zone": "UTC",
        "next_fire_time": NOW,
        "created_at": NOW,
        **changes,
    }
    fields = JobSpec.__dataclass_fields__
    return JobSpec(**{k: v for k, v in values.items() if k in fields})  # type: ignore[arg-type]


def make_run(
    company: Company,
    user: User,
    name: str,
    *,
    original: str = "job",
    state: RunState = RunState.RUNNING,
    start: datetime = NOW,
    scheduled_job_id: int | None = None,
    **changes: object,
) -> Run:
    base = Run(
        id=0,
        company_id=company.id,
        scheduled_job_id=scheduled_job_id,
        name=name,
        original_name=original,
        kind="imageServingPublishJob",
        detail={"publishType": "Full", "emailSetting": "Error"},
        submit_user_email=user.email,
        locale=None,
        description=None,
        state=state,
        server_name="emulator",
        trigger_time=start,
        start_date=start,
        submit_user_id=user.id,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# -- companies, users, memberships --------------------------------------------------------------
def test_companies_are_stored_and_found(repository: SqlJobRepository) -> None:
    first = repository.add_company("Acme", NOW)
    second = repository.add_company("Beta", NOW)
    assert first.id != second.id
    assert [c.name for c in repository.companies()] == ["Acme", "Beta"]
    assert repository.company(first.id) == first
    assert repository.company_by_name("Beta") == second
    assert repository.company(second.id + 100) is None
    assert repository.company_by_name("Nope") is None


def test_a_company_name_is_taken_once(repository: SqlJobRepository) -> None:
    repository.add_company("Acme", NOW)
    with pytest.raises(ApiError) as caught:
        repository.add_company("Acme", NOW)
    assert "Acme" in caught.value.message
    assert len(repository.companies()) == 1


def test_users_and_their_companies(repository: SqlJobRepository, world: World) -> None:
    both = repository.add_user(
        "carol@both.test", "hash-c", "IpsCompanyAdmin", [world.acme.id, world.other.id]
    )
    loner = repository.add_user("dan@none.test", "hash-d", "IpsUser", [])
    assert repository.user(both.id) == both
    assert both.company_ids == {world.acme.id, world.other.id}
    found = repository.user_by_email("carol@both.test")
    assert found is not None
    assert (found.id, found.role, found.password_hash) == (both.id, "IpsCompanyAdmin", "hash-c")
    assert found.company_ids == {world.acme.id, world.other.id}
    assert repository.user(loner.id).company_ids == frozenset()  # type: ignore[union-attr]
    assert [u.email for u in repository.users()] == [
        "alice@acme.test",
        "bob@other.test",
        "carol@both.test",
        "dan@none.test",
    ]
    assert repository.user_by_email("nobody@x.test") is None


def test_has_users(repository: SqlJobRepository) -> None:
    assert repository.has_users() is False
    repository.add_user("a@b.test", "h", "IpsUser", [])
    assert repository.has_users() is True


def test_a_duplicate_email_or_unknown_company_is_refused_and_nothing_is_kept(
    repository: SqlJobRepository, world: World
) -> None:
    with pytest.raises(ApiError):
        repository.add_user("alice@acme.test", "h", "IpsUser", [world.acme.id])
    with pytest.raises(ApiError):
        repository.add_user("eve@x.test", "h", "IpsUser", [world.acme.id, 999_999])
    assert repository.user_by_email("eve@x.test") is None  # the half-made user was rolled back
    assert len(repository.users()) == 2


# -- scheduled jobs -----------------------------------------------------------------------------
def test_a_scheduled_job_is_stored_as_submitted(repository: SqlJobRepository, world: World) -> None:
    detail = {
        "urlArray": {"items": [{"sourceUrl": "http://x.test/a.jpg", "destPath": "a/"}]},
        "overwrite": True,
        "emailSetting": "All",
        "manualCropOptions": {"left": 1, "right": 2, "top": 3, "bottom": 4},
    }
    job = repository.add_scheduled_job(
        spec(
            world.acme,
            world.alice,
            "upload",
            kind="uploadUrlsJob",
            detail=detail,
            locale="de",
            description="nightly",
            exec_schedule="0 0 3 * * ?",
            time_zone="Europe/Berlin",
            next_fire_time=NOW + timedelta(hours=3),
        )
    )
    assert job.trigger_state == TriggerState.NORMAL
    assert job.submit_user_email == "alice@acme.test"
    (stored,) = repository.scheduled_jobs([world.acme.id])
    assert stored == job
    assert stored.detail == detail
    assert (stored.kind, stored.type, stored.locale) == ("uploadUrlsJob", "UrlUpload", "de")
    assert (stored.exec_schedule, stored.time_zone) == ("0 0 3 * * ?", "Europe/Berlin")
    assert stored.next_fire_time == NOW + timedelta(hours=3)
    assert repository.scheduled_job(world.acme.id, "upload") == job


def test_a_fire_time_on_a_whole_second_compares_equal_to_itself_in_queries(
    repository: SqlJobRepository, world: World
) -> None:
    """SQLite keeps dates as text: one written with another layout (no microseconds) would
    sort before the same instant bound by a query, and `>=` would miss it."""
    repository.add_scheduled_job(spec(world.acme, world.alice, "sharp", next_fire_time=NOW))
    with repository.db.read() as c:
        found = c.execute(
            select(scheduled_jobs.c.name).where(
                scheduled_jobs.c.next_fire_time >= NOW, scheduled_jobs.c.next_fire_time <= NOW
            )
        ).scalars()
        assert list(found) == ["sharp"]


def test_scheduled_jobs_are_scoped_to_companies_and_filtered_by_name(
    repository: SqlJobRepository, world: World
) -> None:
    a1 = repository.add_scheduled_job(spec(world.acme, world.alice, "one"))
    a2 = repository.add_scheduled_job(spec(world.acme, world.alice, "two"))
    b1 = repository.add_scheduled_job(spec(world.other, world.bob, "one"))
    assert [j.id for j in repository.scheduled_jobs([world.acme.id])] == [a1.id, a2.id]
    assert [j.id for j in repository.scheduled_jobs([world.other.id])] == [b1.id]
    assert [j.id for j in repository.scheduled_jobs([world.acme.id], "two")] == [a2.id]
    assert {j.id for j in repository.scheduled_jobs([world.acme.id, world.other.id], "one")} == {
        a1.id,
        b1.id,
    }
    assert repository.scheduled_jobs([]) == []
    assert repository.scheduled_job(world.other.id, "two") is None


def test_a_live_job_name_cannot_be_reused_until_the_job_is_complete(
    repository: SqlJobRepository, world: World
) -> None:
    first = repository.add_scheduled_job(spec(world.acme, world.alice, "nightly"))
    with pytest.raises(NameInUse) as caught:
        repository.add_scheduled_job(spec(world.acme, world.alice, "nightly"))
    assert caught.value.code == 30000
    assert "nightly" in caught.value.message
    assert len(repository.scheduled_jobs([world.acme.id])) == 1

    # Paused is still live.
    assert repository.set_trigger_state(first.id, [TriggerState.NORMAL], TriggerState.PAUSED)
    with pytest.raises(NameInUse):
        repository.add_scheduled_job(spec(world.acme, world.alice, "nightly"))

    assert repository.set_trigger_state(first.id, [TriggerState.PAUSED], TriggerState.COMPLETE)
    second = repository.add_scheduled_job(spec(world.acme, world.alice, "nightly"))
    assert second.id != first.id
    assert repository.scheduled_job(world.acme.id, "nightly") == second  # the live one wins
    assert repository.scheduled_jobs([world.acme.id], "nightly") == [second]  # what is scheduled


def test_a_job_fired_at_submit_stores_its_run_and_frees_its_name(
    repository: SqlJobRepository, world: World
) -> None:
    """Two starts of one job in the same millisecond: IPS names runs after the fire time to
    the millisecond, so the second run takes the next one."""
    zone = ZoneInfo("UTC")

    def fire(job: ScheduledJob, at: datetime) -> Run:
        return firing.new_run(job, at, NOW, zone, "here")

    first = repository.add_scheduled_job(spec(world.acme, world.alice, "now"), fire)
    second = repository.add_scheduled_job(spec(world.acme, world.alice, "now"), fire)
    assert (first.trigger_state, first.next_fire_time) == (TriggerState.COMPLETE, None)
    assert first.id != second.id
    assert repository.scheduled_jobs([world.acme.id]) == []  # nothing left scheduled
    runs = repository.runs(RunQuery([world.acme.id], original_name="now"), descending=False)
    assert [(r.name, r.scheduled_job_id, r.state) for r in runs] == [
        ("now_2024-05-01-12:00:00.000", first.id, RunState.NEW),
        ("now_2024-05-01-12:00:00.001", second.id, RunState.NEW),
    ]
    assert {r.detail["publishType"] for r in runs} == {"Full"}
    # A live job of the name still refuses one that would fire at once.
    repository.add_scheduled_job(spec(world.acme, world.alice, "held"))
    with pytest.raises(NameInUse):
        repository.add_scheduled_job(spec(world.acme, world.alice, "held"), fire)
    assert repository.runs(RunQuery([world.acme.id], original_name="held")) == []


def test_the_same_job_name_in_another_company_is_fine(
    repository: SqlJobRepository, world: World
) -> None:
    repository.add_scheduled_job(spec(world.acme, world.alice, "nightly"))
    repository.add_scheduled_job(spec(world.other, world.bob, "nightly"))
    assert len(repository.scheduled_jobs([world.acme.id, world.other.id], "nightly")) == 2


def test_trigger_state_changes_only_from_the_expected_state(
    repository: SqlJobRepository, world: World
) -> None:
    job = repository.add_scheduled_job(spec(world.acme, world.alice, "j"))
    assert repository.set_trigger_state(job.id, [TriggerState.NORMAL], TriggerState.PAUSED)
    assert repository.scheduled_job(world.acme.id, "j").trigger_state == TriggerState.PAUSED  # type: ignore[union-attr]
    # A second pause racing the first sees the guard fail and changes nothing.
    assert not repository.set_trigger_state(job.id, [TriggerState.NORMAL], TriggerState.BLOCKED)
    assert repository.scheduled_job(world.acme.id, "j").trigger_state == TriggerState.PAUSED  # type: ignore[union-attr]
    assert repository.set_trigger_state(
        job.id, [TriggerState.NORMAL, TriggerState.PAUSED], TriggerState.NORMAL
    )
    assert repository.scheduled_job(world.acme.id, "j").trigger_state == TriggerState.NORMAL  # type: ignore[union-attr]
    assert not repository.set_trigger_state(
        job.id + 1000, [TriggerState.NORMAL], TriggerState.PAUSED
    )


def test_deleting_a_job_asks_its_active_runs_to_stop(
    repository: SqlJobRepository, world: World
) -> None:
    job = repository.add_scheduled_job(spec(world.acme, world.alice, "doomed"))
    keep = repository.add_scheduled_job(spec(world.acme, world.alice, "kept"))
    running = repository.add_run(
        make_run(world.acme, world.alice, "doomed_1", scheduled_job_id=job.id)
    )
    new = repository.add_run(
        make_run(world.acme, world.alice, "doomed_2", state=RunState.NEW, scheduled_job_id=job.id)
    )
    done = repository.add_run(
        make_run(world.acme, world.alice, "doomed_0", state=RunState.DONE, scheduled_job_id=job.id)
    )
    other = repository.add_run(
        make_run(world.acme, world.alice, "kept_1", scheduled_job_id=keep.id)
    )

    repository.delete_scheduled_job(world.acme.id, "doomed", NOW + timedelta(minutes=5))

    assert [j.name for j in repository.scheduled_jobs([world.acme.id])] == ["kept"]
    runs = {r.id: r for r in repository.runs(RunQuery([world.acme.id]))}
    assert len(runs) == 4  # the runs and their logs outlive the schedule
    assert runs[running.id].stop_requested_at == NOW + timedelta(minutes=5)
    assert runs[new.id].stop_requested_at == NOW + timedelta(minutes=5)
    assert runs[done.id].stop_requested_at is None
    assert runs[other.id].stop_requested_at is None
    assert runs[done.id].state == RunState.DONE


# -- runs ---------------------------------------------------------------------------------------
def test_a_run_is_stored_with_a_new_id_and_read_back_whole(
    repository: SqlJobRepository, world: World
) -> None:
    task = TaskProgress("Upload", "Running", 3, 1, 6, 30.0, "3 of 10", NOW + timedelta(seconds=9))
    given = make_run(
        world.acme,
        world.alice,
        "job_2024-05-01-12:00:00.000",
        id=424242,
        total_size=1234,
        progress=30,
        progress_message="3 of 10",
        last_progress_update=NOW + timedelta(seconds=9),
        tasks=(task,),
        log_type="EndImageServingPublish",
        counts=LogCounts(file_success=3, file_error=1, total_file=4, transfer_warning=2),
        fatal_error=True,
        end_date=NOW + timedelta(minutes=1),
    )
    stored = repository.add_run(given)
    assert stored.id != 424242
    (found,) = repository.runs(RunQuery([world.acme.id]))
    assert found == replace(given, id=stored.id)
    assert found.tasks == (task,)
    assert found.counts.file_error == 1


def test_run_names_are_unique_per_company(repository: SqlJobRepository, world: World) -> None:
    repository.add_run(make_run(world.acme, world.alice, "same"))
    repository.add_run(make_run(world.other, world.bob, "same"))
    with pytest.raises(StoreError) as caught:
        repository.add_run(make_run(world.acme, world.alice, "same"))
    assert not isinstance(caught.value, SQLAlchemyError)


@pytest.fixture
def three_runs(repository: SqlJobRepository, world: World) -> dict[str, Run]:
    a = world.acme
    return {
        "old": repository.add_run(
            make_run(
                a, world.alice, "nightly_1", original="nightly", state=RunState.DONE, start=NOW
            )
        ),
        "mid": repository.add_run(
            make_run(
                a,
                world.alice,
                "adhoc_1",
                original="adhoc",
                state=RunState.STOPPING,
                start=NOW + timedelta(hours=1),
                submit_user_id=None,
            )
        ),
        "new": repository.add_run(
            make_run(
                a,
                world.alice,
                "nightly_2",
                original="nightly",
                state=RunState.NEW,
                start=NOW + timedelta(hours=2),
            )
        ),
        "elsewhere": repository.add_run(
            make_run(world.other, world.bob, "nightly_1", original="nightly", start=NOW)
        ),
    }


def names(runs: object) -> list[str]:
    return [r.name for r in runs]  # type: ignore[attr-defined]


def test_runs_are_scoped_to_the_given_companies(
    repository: SqlJobRepository, world: World, three_runs: dict[str, Run]
) -> None:
    assert names(repository.runs(RunQuery([world.acme.id]))) == [
        "nightly_2",
        "adhoc_1",
        "nightly_1",
    ]
    assert [r.id for r in repository.runs(RunQuery([world.other.id]))] == [
        three_runs["elsewhere"].id
    ]
    assert len(repository.runs(RunQuery([world.acme.id, world.other.id]))) == 4
    assert repository.runs(RunQuery([])) == []


def test_runs_filtered_by_id_name_original_name_and_user(
    repository: SqlJobRepository, world: World, three_runs: dict[str, Run]
) -> None:
    acme = [world.acme.id]
    mid = three_runs["mid"]
    assert names(repository.runs(RunQuery(acme, run_id=mid.id))) == ["adhoc_1"]
    # Another company's run is not reachable by id.
    assert repository.runs(RunQuery(acme, run_id=three_runs["elsewhere"].id)) == []
    assert names(repository.runs(RunQuery(acme, run_name="nightly_1"))) == ["nightly_1"]
    assert names(repository.runs(RunQuery(acme, original_name="nightly"))) == [
        "nightly_2",
        "nightly_1",
    ]
    assert repository.runs(RunQuery(acme, original_name="nightly_1")) == []
    assert names(repository.runs(RunQuery(acme, submit_user_id=world.alice.id))) == [
        "nightly_2",
        "nightly_1",
    ]


def test_active_only_leaves_out_finished_runs(
    repository: SqlJobRepository, world: World, three_runs: dict[str, Run]
) -> None:
    active = repository.runs(RunQuery([world.acme.id], active_only=True))
    assert names(active) == ["nightly_2", "adhoc_1"]


def test_runs_in_a_date_window_inclusive(
    repository: SqlJobRepository, world: World, three_runs: dict[str, Run]
) -> None:
    acme = [world.acme.id]
    one = NOW + timedelta(hours=1)
    assert names(repository.runs(RunQuery(acme, started_from=one))) == ["nightly_2", "adhoc_1"]
    assert names(repository.runs(RunQuery(acme, started_until=one))) == ["adhoc_1", "nightly_1"]
    assert names(repository.runs(RunQuery(acme, started_from=one, started_until=one))) == [
        "adhoc_1"
    ]
    # The window is an instant: the same bounds given in another zone select the same runs.
    local = one.astimezone(PLUS_TWO)
    assert names(repository.runs(RunQuery(acme, started_from=local, started_until=local))) == [
        "adhoc_1"
    ]


def test_runs_sorted_and_limited(
    repository: SqlJobRepository, world: World, three_runs: dict[str, Run]
) -> None:
    acme = [world.acme.id]
    assert names(repository.runs(RunQuery(acme), descending=False)) == [
        "nightly_1",
        "adhoc_1",
        "nightly_2",
    ]
    assert names(repository.runs(RunQuery(acme), order_by="JobName", descending=False)) == [
        "adhoc_1",
        "nightly_1",
        "nightly_2",
    ]
    assert names(repository.runs(RunQuery(acme), limit=2)) == ["nightly_2", "adhoc_1"]
    assert names(repository.runs(RunQuery(acme), descending=False, limit=1)) == ["nightly_1"]
    both = [world.acme.id, world.other.id]
    by_company = repository.runs(RunQuery(both), order_by="CompanyName", descending=True)
    assert [r.company_id for r in by_company] == [world.other.id] + [world.acme.id] * 3


def test_stop_is_requested_only_on_active_runs(
    repository: SqlJobRepository, world: World, three_runs: dict[str, Run]
) -> None:
    running = repository.add_run(make_run(world.acme, world.alice, "running_1"))
    first = NOW + timedelta(minutes=1)
    assert repository.request_stop(running.id, first) is True
    (found,) = repository.runs(RunQuery([world.acme.id], run_id=running.id))
    assert (found.state, found.stop_requested_at) == (RunState.STOPPING, first)
    # Asking again keeps the first request's time.
    assert repository.request_stop(running.id, first + timedelta(minutes=1)) is True
    (found,) = repository.runs(RunQuery([world.acme.id], run_id=running.id))
    assert found.stop_requested_at == first

    done = three_runs["old"]
    assert repository.request_stop(done.id, first) is False
    (found,) = repository.runs(RunQuery([world.acme.id], run_id=done.id))
    assert (found.state, found.stop_requested_at) == (RunState.DONE, None)
    assert repository.request_stop(999_999, first) is False


# -- uploadPost jobs ----------------------------------------------------------------------------
def posted(path: str, at: datetime = NOW) -> PostedFile:
    return PostedFile(path, uuid.uuid4().hex * 2, 3, at)


def test_an_upload_post_run_waits_takes_files_then_stops_waiting(
    repository: SqlJobRepository, world: World, database_url: str
) -> None:
    waiting = make_run(
        world.acme,
        world.alice,
        "posted",
        state=RunState.WAITING_CLIENT,
        kind="uploadPostJob",
        client_address="10.0.0.7",
        waits_until=NOW + timedelta(minutes=30),
    )
    first = posted("Acme/a.jpg")
    opened = repository.open_upload(waiting, [first])
    assert opened is not None and opened.id > 0
    assert repository.open_upload(waiting, []) is None  # the company has a run of that name
    second = posted("Acme/b.jpg", NOW + timedelta(minutes=1))
    assert repository.add_posted(opened.id, [second], False, NOW - timedelta(seconds=1))
    (found,) = repository.runs(RunQuery([world.acme.id], run_id=opened.id))
    assert (found.state, found.client_address) == (RunState.WAITING_CLIENT, "10.0.0.7")
    assert found.waits_until == NOW - timedelta(seconds=1)
    waiting_only = RunQuery([world.acme.id], active_only=True, include_waiting=False)
    assert repository.runs(waiting_only) == []

    store = EngineStore(Database(database_url))
    try:
        assert [run.id for run in store.end_waiting(NOW - timedelta(minutes=1))] == []
        (ended,) = store.end_waiting(NOW)
    finally:
        store.db.dispose()
    assert (ended.id, ended.state, ended.waits_until) == (opened.id, RunState.NEW, None)
    assert not repository.add_posted(opened.id, [posted("Acme/late.jpg")], True, NOW)
    assert repository.posted_files(opened.id) == [first, second]


def test_end_job_hands_a_waiting_run_to_the_engine(
    repository: SqlJobRepository, world: World
) -> None:
    waiting = make_run(
        world.acme, world.alice, "ended", state=RunState.WAITING_CLIENT, kind="uploadPostJob"
    )
    opened = repository.open_upload(waiting, [])
    assert opened is not None
    assert repository.add_posted(opened.id, [posted("Acme/c.jpg")], True, NOW)
    (found,) = repository.runs(RunQuery([world.acme.id], run_id=opened.id))
    assert (found.state, found.waits_until) == (RunState.NEW, None)
    assert [f.path for f in repository.posted_files(opened.id)] == ["Acme/c.jpg"]


# -- log details --------------------------------------------------------------------------------
@pytest.fixture
def logged_run(repository: SqlJobRepository, world: World) -> Run:
    run = repository.add_run(make_run(world.acme, world.alice, "upload_1", state=RunState.DONE))
    kinds = ["BeginUpload", "UploadSuccess", "UploadSuccess", "UploadError", "UploadSuccess"]
    repository.add_log_details(
        [
            LogDetail(
                run_id=run.id,
                date_created=NOW + timedelta(seconds=i),
                log_type=kind,
                log_message=f"message {i}",
                asset_name=f"file{i}.jpg" if kind == "UploadSuccess" else None,
                asset_type="Image" if kind == "UploadSuccess" else None,
                asset_handle=f"a|{world.acme.id}|1|{i}" if kind == "UploadSuccess" else None,
                aux=(LogAux("aux", "Info", NOW + timedelta(seconds=i)),) if i == 1 else (),
            )
            for i, kind in enumerate(kinds)
        ]
    )
    repository.add_log_details([])  # nothing to add is fine
    return run


def page(
    records: int = 1000,
    number: int = 1,
    sort_by: str = "Date",
    descending: bool = False,
    log_types: list[str] | None = None,
) -> LogPage:
    return LogPage(log_types, records, number, sort_by, descending)


def messages(found: object) -> list[str]:
    return [d.log_message for d in found.details]  # type: ignore[attr-defined]


def test_log_details_come_back_whole_and_in_date_order(
    repository: SqlJobRepository, world: World, logged_run: Run
) -> None:
    (found,) = repository.run_details(RunQuery([world.acme.id], run_id=logged_run.id), page())
    assert found.run.id == logged_run.id
    assert found.total_rows == 5
    assert messages(found) == [f"message {i}" for i in range(5)]
    second = found.details[1]
    assert (second.asset_name, second.asset_type) == ("file1.jpg", "Image")
    assert second.asset_handle == f"a|{world.acme.id}|1|1"
    assert second.aux == (LogAux("aux", "Info", NOW + timedelta(seconds=1)),)


def test_log_details_paged_with_the_total_of_all_pages(
    repository: SqlJobRepository, world: World, logged_run: Run
) -> None:
    query = RunQuery([world.acme.id], run_id=logged_run.id)
    pages = [repository.run_details(query, page(records=2, number=n))[0] for n in (1, 2, 3, 4)]
    assert [messages(p) for p in pages] == [
        ["message 0", "message 1"],
        ["message 2", "message 3"],
        ["message 4"],
        [],
    ]
    assert {p.total_rows for p in pages} == {5}


def test_log_details_sorted_descending_and_by_log_type(
    repository: SqlJobRepository, world: World, logged_run: Run
) -> None:
    query = RunQuery([world.acme.id], run_id=logged_run.id)
    (newest_first,) = repository.run_details(query, page(descending=True))
    assert messages(newest_first) == [f"message {i}" for i in (4, 3, 2, 1, 0)]
    (by_type,) = repository.run_details(query, page(sort_by="LogType"))
    assert [d.log_type for d in by_type.details] == [
        "BeginUpload",
        "UploadError",
        "UploadSuccess",
        "UploadSuccess",
        "UploadSuccess",
    ]


def test_log_details_filtered_by_type_count_only_matches(
    repository: SqlJobRepository, world: World, logged_run: Run
) -> None:
    query = RunQuery([world.acme.id], run_id=logged_run.id)
    (found,) = repository.run_details(query, page(records=2, log_types=["UploadSuccess"]))
    assert found.total_rows == 3
    assert messages(found) == ["message 1", "message 2"]
    (errors_only,) = repository.run_details(query, page(log_types=["UploadError", "Nope"]))
    assert (errors_only.total_rows, messages(errors_only)) == (1, ["message 3"])
    (none,) = repository.run_details(query, page(log_types=[]))
    assert (none.total_rows, none.details) == (0, ())


def test_run_details_respect_company_scoping(
    repository: SqlJobRepository, world: World, logged_run: Run
) -> None:
    assert repository.run_details(RunQuery([world.other.id], run_id=logged_run.id), page()) == []


def test_asset_logs_find_every_run_that_touched_an_asset(
    repository: SqlJobRepository, world: World, logged_run: Run
) -> None:
    handle = f"a|{world.acme.id}|1|2"
    later = repository.add_run(
        make_run(world.acme, world.alice, "reprocess_1", start=NOW + timedelta(hours=1))
    )
    repository.add_log_details(
        [
            LogDetail(
                later.id,
                NOW + timedelta(hours=1),
                "ReoptimizeSuccess",
                "again",
                "file2.jpg",
                "Image",
                handle,
            ),
        ]
    )
    found = repository.asset_logs(world.acme.id, handle)
    assert [(e.run.name, e.detail.log_message) for e in found] == [
        ("upload_1", "message 2"),
        ("reprocess_1", "again"),
    ]
    assert repository.asset_logs(world.other.id, handle) == []
    assert repository.asset_logs(world.acme.id, "a|0|0|0") == []


# -- datetimes ----------------------------------------------------------------------------------
def test_datetimes_come_back_timezone_aware_utc(repository: SqlJobRepository) -> None:
    local = datetime(2024, 5, 1, 14, 30, 15, 123000, tzinfo=PLUS_TWO)
    company = repository.add_company("Zoned", local)
    user = repository.add_user("z@z.test", "h", "IpsUser", [company.id])
    job = repository.add_scheduled_job(
        spec(company, user, "zoned", exec_time=local, next_fire_time=local, created_at=local)
    )
    run = repository.add_run(make_run(company, user, "zoned_1", start=local, end_date=local))
    repository.add_log_details([LogDetail(run.id, local, "BeginUpload", "m")])

    stored_job = repository.scheduled_job(company.id, "zoned")
    (stored_run,) = repository.runs(RunQuery([company.id]))
    (details,) = repository.run_details(RunQuery([company.id]), page())
    values = [
        repository.company(company.id).created_at,  # type: ignore[union-attr]
        stored_job.exec_time,  # type: ignore[union-attr]
        stored_job.next_fire_time,  # type: ignore[union-attr]
        stored_job.created_at,  # type: ignore[union-attr]
        stored_run.start_date,
        stored_run.trigger_time,
        stored_run.end_date,
        details.details[0].date_created,
    ]
    for value in values:
        assert value == local  # the same instant, microseconds kept
        assert value is not None and value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
    assert job.id == stored_job.id  # type: ignore[union-attr]


# -- driver errors ------------------------------------------------------------------------------
def assert_store_error(excinfo: pytest.ExceptionInfo[StoreError]) -> None:
    assert not isinstance(excinfo.value, SQLAlchemyError)
    assert excinfo.value.message
    assert isinstance(excinfo.value.__cause__, SQLAlchemyError)


def test_a_database_without_tables_raises_store_error(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        repository = SqlJobRepository(database)
        with pytest.raises(StoreError) as caught:
            repository.companies()
        assert_store_error(caught)
        with pytest.raises(StoreError) as caught:
            repository.add_company("Acme", NOW)
        assert_store_error(caught)
        with pytest.raises(StoreError) as caught:
            repository.has_users()
        assert_store_error(caught)
    finally:
        database.dispose()


def test_an_unreachable_server_raises_store_error() -> None:
    database = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    try:
        with pytest.raises(StoreError) as caught:
            SqlJobRepository(database).companies()
        assert_store_error(caught)
    finally:
        database.dispose()
