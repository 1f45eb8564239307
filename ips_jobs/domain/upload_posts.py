"""uploadPost jobs, as the UploadFile servlet and the uploadPost operation make them: the first
post opens a job (by `jobName`), later posts add files to it (by the `jobHandle` the first one
answered) from the same address, and the post with `endJob` true, or IPS_UPLOAD_WAIT seconds
without a post, hands the files to the engine, which makes them assets as uploadUrlsJob does."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ips_jobs.domain import defaults, handles, validation
from ips_jobs.domain.assets import file_path
from ips_jobs.domain.firing import run_name
from ips_jobs.domain.handles import RunRef
from ips_jobs.domain.jobs import PostedFile, Run, RunState, User
from ips_jobs.domain.ports import FileKeeper, RunQuery, UploadPostRepository
from ips_jobs.domain.service import JobService
from ips_jobs.errors import InvalidParameter, NotFound, WrongState

#: The kind of an uploadPost job's runs (ActiveJob/uploadPostJob echoes its uploadParams).
KIND = "uploadPostJob"
#: The longest target path (destFolder and file name) a post may give.
MAX_PATH = 1000
#: How long IPS waits for the next post of a job not ended with endJob (job sheet §3.14).
WAIT_SECONDS = 30 * 60


@dataclass(frozen=True)
class IncomingFile:
    """A file of a post, not yet kept: the name its part gave and a way to read its bytes."""

    file_name: str
    chunks: Callable[[], Iterable[bytes]]


@dataclass(frozen=True)
class Post:
    """One uploadPost: the uploadPostParam's fields and the files that came with it."""

    company_handle: str | None
    job_name: str | None = None
    job_handle: str | None = None
    locale: str | None = None
    description: str | None = None
    dest_folder: str | None = None
    file_name: str | None = None
    end_job: bool = False
    upload_params: dict[str, Any] | None = None
    files: Sequence[IncomingFile] = ()
    client_address: str | None = None
    request_locale: str | None = None


@dataclass(frozen=True)
class UploadStatus:
    """getUploadTaskStatus: a job and the files posted to it."""

    run: Run
    files: Sequence[PostedFile]


class UploadPosts:
    def __init__(
        self,
        jobs: JobService,
        repository: UploadPostRepository,
        files: FileKeeper,
        max_file_bytes: int,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.jobs = jobs
        self.repository = repository
        self.files = files
        self.max_file_bytes = max_file_bytes
        self.wait_seconds = wait_seconds

    def post(self, caller: User, post: Post) -> Run:
        """Opens a job or adds to one; the job as it now stands. A file is kept only once the
        post has been found good; a post refused keeps nothing."""
        company_id = self.jobs.company_id(caller, post.company_handle)
        if bool(post.job_name) == bool(post.job_handle):
            raise InvalidParameter("jobName", "give jobName (a new job) or jobHandle, not both")
        company = self.jobs.repository.company(company_id)
        if company is None:
            raise NotFound("companyHandle", str(post.company_handle))
        root = company.root_path
        paths = [self._path(root, post, incoming) for incoming in post.files]
        if post.job_handle:
            run = self._waiting(company_id, post)
            kept = self._keep(post, paths)
            if not self.repository.add_posted(run.id, kept, post.end_job, self._deadline()):
                raise WrongState(f"Job '{post.job_handle}' is no longer waiting for files")
            return replace(run, state=RunState.NEW if post.end_job else run.state)
        run = self._new_run(caller, company_id, post)  # checked before any file is kept
        return self._open(run, self._keep(post, paths))

    def status(self, caller: User, job_handle: str | None) -> UploadStatus:
        """getUploadTaskStatus: the job of a run handle, of a company of the caller."""
        text = validation.required_text(job_handle, "jobHandle")
        ref = handles.parse_job(text)
        if not isinstance(ref, RunRef) or ref.company_id not in caller.company_ids:
            raise NotFound("jobHandle", text)
        found = self.jobs.repository.runs(
            RunQuery([ref.company_id], run_id=ref.run_id, run_name=ref.run_name)
        )
        if not found or found[0].kind != KIND:
            raise NotFound("jobHandle", text)
        return UploadStatus(found[0], self.repository.posted_files(found[0].id))

    def _new_run(self, caller: User, company_id: int, post: Post) -> Run:
        name = validation.job_name(post.job_name)
        now = self.jobs.clock.now()
        return Run(
            id=0,
            company_id=company_id,
            scheduled_job_id=None,
            name=name,
            original_name=name,
            kind=KIND,
            detail=defaults.with_defaults(KIND, post.upload_params or {}),
            submit_user_email=caller.email,
            locale=validation.job_locale(post.locale, post.request_locale),
            description=post.description,
            state=RunState.NEW if post.end_job else RunState.WAITING_CLIENT,
            server_name=self.jobs.server_name,
            trigger_time=now,
            start_date=now,
            last_progress_update=now,
            submit_user_id=caller.id,
            client_address=post.client_address,
            waits_until=None if post.end_job else self._deadline(),
        )

    def _open(self, run: Run, kept: list[PostedFile]) -> Run:
        opened = self.repository.open_upload(run, kept)
        if opened is None:  # a run of that name exists: named as a scheduled job's run is
            timed = replace(run, name=run_name(run.name, run.start_date, self.jobs.time_zone))
            opened = self.repository.open_upload(timed, kept)
        if opened is None:
            raise WrongState(f"A job named '{run.name}' was opened at the same moment; try again")
        return opened

    def _waiting(self, company_id: int, post: Post) -> Run:
        """The job a follow-up post names: one of the company's, waiting, opened from the
        same address (IPS takes the posts of a job from one IP address only)."""
        handle = post.job_handle or ""
        ref = self.jobs.job_ref(handle, company_id)
        found = (
            self.jobs.repository.runs(
                RunQuery([company_id], run_id=ref.run_id, run_name=ref.run_name)
            )
            if isinstance(ref, RunRef)
            else []
        )
        if not found or found[0].kind != KIND:
            raise NotFound("jobHandle", handle)
        run = found[0]
        if run.state is not RunState.WAITING_CLIENT:
            raise WrongState(f"Job '{handle}' is no longer waiting for files ({run.state})")
        if run.client_address and run.client_address != post.client_address:
            raise InvalidParameter(
                "jobHandle",
                f"job '{handle}' was opened from another address: every post of a job must "
                "come from the same IP address",
            )
        return run

    def _path(self, root: str, post: Post, incoming: IncomingFile) -> str:
        """Where a file goes: destFolder, then fileName, else the part's filename (which
        may hold a whole path); checked now, so that a bad one refuses the post."""
        name = post.file_name or incoming.file_name
        path = f"{post.dest_folder or ''}/{name}" if post.dest_folder else name
        if len(path) > MAX_PATH:
            raise InvalidParameter("fileName", f"a target path is at most {MAX_PATH} characters")
        file_path(root, path, "fileName")
        return path

    def _keep(self, post: Post, paths: list[str]) -> list[PostedFile]:
        now = self.jobs.clock.now()
        kept = []
        for incoming, path in zip(post.files, paths, strict=True):
            stored = self.files.put(incoming.chunks(), self.max_file_bytes)
            kept.append(PostedFile(path, stored.key, stored.size, now))
        return kept

    def _deadline(self) -> datetime:
        return self.jobs.clock.now() + timedelta(seconds=self.wait_seconds)
