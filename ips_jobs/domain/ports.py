"""What the domain needs from storage. Implemented by store.repository.SqlJobRepository and
store.assets.SqlAssetRepository; every method is one transaction, and no storage exception
crosses this line."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ips_jobs.domain.assets import (
    Asset,
    AssetDraft,
    AssetPage,
    AssetQuery,
    BatchOutcome,
    Folder,
    Publication,
    TrashAction,
    Uploaded,
)
from ips_jobs.domain.jobs import (
    AssetLog,
    Company,
    JobSpec,
    LogDetail,
    PostedFile,
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
    #: With active_only: also the runs waiting for their client (uploadPost jobs).
    include_waiting: bool = True
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


class AssetRepository(Protocol):
    """A company's folders and assets. Paths are full paths (assets.folder_path); `by` is the
    e-mail of the user a change is made by. An asset's job history is its job log rows:
    JobRepository.asset_logs with handles.asset(id, VERSIONED), the handle runs log."""

    # folders
    def folder(self, company_id: int, path: str) -> Folder | None: ...

    def folders(self, company_id: int, under: str) -> Sequence[Folder]:
        """The folder at `under` and every folder below it, by path; none when it is missing."""
        ...

    def add_folder(self, company_id: int, path: str, now: datetime) -> Folder:
        """Makes the missing folders above it too. Raises FolderExists."""
        ...

    def rename_folder(self, company_id: int, path: str, name: str, now: datetime) -> Folder:
        """The folder, its subfolders and assets keep their ids; their paths change. Raises
        NoSuchFolder, RootFolder, FolderExists (the new path is taken)."""
        ...

    def move_folder(self, company_id: int, path: str, into: str, now: datetime) -> Folder:
        """As rename_folder; `into` must exist and not be the folder or inside it."""
        ...

    def delete_folder(self, company_id: int, path: str, now: datetime) -> None:
        """Removes the folder, its subfolders and every asset in them for good (not to the
        trash). Raises NoSuchFolder, RootFolder."""
        ...

    # assets
    def asset(self, company_id: int, asset_id: int) -> Asset | None: ...

    def owner(self, asset_id: int) -> int | None:
        """The company the asset belongs to (None: no such asset): for the control plane,
        which names assets by id alone."""
        ...

    def assets(self, company_id: int, asset_ids: Sequence[int]) -> Sequence[Asset]:
        """In the order asked, each once, whatever their trash state; ids the company has no
        asset of are left out."""
        ...

    def assets_by_name(self, company_id: int, names: Sequence[str]) -> Sequence[Asset]:
        """The assets not in the trash with exactly these names, in the order asked, each
        once; names no asset has are left out."""
        ...

    def search(self, company_id: int, query: AssetQuery) -> AssetPage: ...

    def add_asset(self, company_id: int, draft: AssetDraft, now: datetime, by: str) -> Asset:
        """Makes its folder if missing. Raises AssetNameInUse."""
        ...

    def upload(
        self,
        company_id: int,
        draft: AssetDraft,
        overwrite: bool,
        keep_publish_state: bool,
        now: datetime,
        by: str,
    ) -> Uploaded:
        """Creates the asset of the draft's name, or finds the one not in the trash: with
        `overwrite` it takes the draft's folder, file and info (keywords only when the draft
        has some) and keeps its id, created time and user; without, it is left as it was."""
        ...

    def rename_asset(
        self, company_id: int, asset_id: int, name: str, now: datetime, by: str
    ) -> Asset | None:
        """Renames the asset and its file (the extension stays). None: no such asset. Raises
        AssetNameInUse."""
        ...

    def move_assets(
        self, company_id: int, moves: Sequence[tuple[int, str]], now: datetime, by: str
    ) -> BatchOutcome:
        """Moves each asset to its folder path; a folder that does not exist fails its item
        (NoSuchFolder)."""
        ...

    def change_trash(
        self, company_id: int, asset_ids: Sequence[int], action: TrashAction, now: datetime
    ) -> BatchOutcome:
        """Moves each asset as assets.TRASH_MOVES says (WrongTrashState fails an item); a
        restore whose name is taken meanwhile fails with AssetNameInUse."""
        ...

    def set_ready_for_publish(
        self, company_id: int, changes: Sequence[tuple[int, bool]]
    ) -> BatchOutcome: ...

    def publish(
        self, company_id: int, publication: Publication, incremental: bool
    ) -> Sequence[int]:
        """Records `publication` for every asset not in the trash that is ready for publish
        (incremental: only those changed since their last publication in that server and
        context); the ids of those assets."""
        ...

    def publications(self, company_id: int, asset_id: int) -> Sequence[Publication]:
        """The newest first."""
        ...


class UploadPostRepository(Protocol):
    """The runs of uploadPost jobs and the files posted to them."""

    def open_upload(self, run: Run, files: Sequence[PostedFile]) -> Run | None:
        """Stores a new run with its first files; None when a run of its name exists."""
        ...

    def add_posted(
        self, run_id: int, files: Sequence[PostedFile], end: bool, waits_until: datetime
    ) -> bool:
        """Adds files to a run that waits for its client; with `end` the run stops waiting
        (New: the engine takes it). False when it no longer waits."""
        ...

    def posted_files(self, run_id: int) -> Sequence[PostedFile]:
        """The files posted to a run, in the order they came."""
        ...


class KeptFile(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def size(self) -> int: ...


class FileKeeper(Protocol):
    """Where posted files are kept (store.files.FileStore)."""

    def put(self, chunks: Iterable[bytes], max_bytes: int) -> KeptFile: ...
