"""The domain's nouns: companies, users, scheduled jobs, runs and their logs. No XML, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

#: A job's submitted detail: the job-type element as plain data (dicts in schema order,
#: lists, str/int/float/bool/aware datetime), exactly as the wire layer read it.
Detail = dict[str, Any]

#: submitJob's job-type elements, in schema order, with the `type` string IPS reports for each.
#: IPS documents seven of these strings; the ones for metadataPublishJob, ripPdfsJob,
#: reprocessAssetsJob, createVideoSitemapJob, exportJob and automatedSetGenerationJob are ours
#: (docs/differences.md, docs/parity.md).
JOB_TYPES: dict[str, str] = {
    "imageServingPublishJob": "ImageServingPublish",
    "imageRenderingPublishJob": "ImageRenderingPublish",
    "videoPublishJob": "VideoPublish",
    "serverDirectoryPublishJob": "ServerDirectoryPublish",
    "metadataPublishJob": "MetadataPublish",
    "uploadDirectoryJob": "UploadFromServerDirectory",
    "uploadUrlsJob": "UrlUpload",
    "optimizeImagesJob": "ImageOptimization",
    "ripPdfsJob": "RipPdfs",
    "reprocessAssetsJob": "ReprocessAssets",
    "createVideoSitemapJob": "CreateVideoSitemap",
    "exportJob": "Export",
    "automatedSetGenerationJob": "AutomatedSetGeneration",
}


class TriggerState(StrEnum):
    """ScheduledJob/triggerState: the Quartz trigger states IPS reports."""

    NORMAL = "Normal"  #: waiting for its next fire time
    PAUSED = "Paused"  #: pauseJob was called
    BLOCKED = "Blocked"  #: its run is in progress
    COMPLETE = "Complete"  #: a one-off job that has fired
    ERROR = "Error"  #: the trigger failed
    NONE = "None"  #: no trigger


class RunState(StrEnum):
    """ActiveJob/state."""

    NEW = "New"
    #: an uploadPost job waiting for its client's next post (or endJob, or its timeout)
    WAITING_CLIENT = "WaitingClient"
    RUNNING = "Running"
    STOPPING = "Stopping"
    DONE = "Done"


@dataclass(frozen=True)
class Company:
    id: int
    name: str
    root_path: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    password_hash: str
    first_name: str = ""
    last_name: str = ""
    company_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class JobSpec:
    """A validated submitJob request, ready to be stored."""

    company_id: int
    name: str
    kind: str
    detail: Detail
    submit_user_id: int
    submit_user_email: str
    email_user_id: int
    locale: str | None
    description: str | None
    exec_time: datetime | None
    exec_schedule: str | None
    time_zone: str
    next_fire_time: datetime | None
    created_at: datetime
    #: The address of the e-mail user, which a run started at submit names in its log.
    email_user_email: str | None = None

    @property
    def type(self) -> str:
        return JOB_TYPES[self.kind]


@dataclass(frozen=True)
class ScheduledJob:
    id: int
    company_id: int
    name: str
    kind: str
    detail: Detail
    submit_user_email: str
    locale: str | None
    description: str | None
    exec_time: datetime | None
    exec_schedule: str | None
    time_zone: str
    next_fire_time: datetime | None
    trigger_state: TriggerState
    created_at: datetime
    notify_email: str | None = None
    submit_user_id: int | None = None

    @property
    def type(self) -> str:
        return JOB_TYPES[self.kind]


@dataclass(frozen=True)
class TaskProgress:
    task_type: str
    task_state: str
    num_processed: int
    num_processing: int
    num_pending: int
    progress: float
    progress_message: str
    last_progress_update: datetime


@dataclass(frozen=True)
class LogCounts:
    file_success: int = 0
    file_error: int = 0
    file_warning: int = 0
    file_duplicate: int = 0
    file_update: int = 0
    total_file: int = 0
    transfer_success: int = 0
    transfer_error: int = 0
    transfer_warning: int = 0


@dataclass(frozen=True)
class Run:
    """One execution of a scheduled job: an ActiveJob while it runs, a JobLog once it ended."""

    id: int
    company_id: int
    scheduled_job_id: int | None
    name: str
    original_name: str
    kind: str
    detail: Detail
    submit_user_email: str
    locale: str | None
    description: str | None
    state: RunState
    server_name: str
    trigger_time: datetime
    start_date: datetime
    total_size: int = 0
    progress: int = 0
    progress_message: str = ""
    last_progress_update: datetime | None = None
    tasks: tuple[TaskProgress, ...] = ()
    log_type: str = ""
    job_sub_type: str = ""
    end_date: datetime | None = None
    counts: LogCounts = field(default_factory=LogCounts)
    fatal_error: bool = False
    submit_user_id: int | None = None
    fire_time: datetime | None = None
    notify_email: str | None = None
    step: int = 0
    stop_requested_at: datetime | None = None
    seconds: float | None = None
    manual: bool = False
    advance_to: int | None = None
    advance_outcome: str | None = None
    injected: dict[str, Any] | None = None
    #: Set by pauseJob: the engine holds the run's progress until resumeJob clears it.
    paused_at: datetime | None = None
    #: An uploadPost job: the address its posts must come from, and when it stops waiting
    #: for the next one.
    client_address: str | None = None
    waits_until: datetime | None = None

    @property
    def type(self) -> str:
        return JOB_TYPES.get(self.kind, "UploadPost")


@dataclass(frozen=True)
class PostedFile:
    """A file posted to an uploadPost job and kept in the file store (`key`), and where it
    goes: destFolder and file name, as the post gave them."""

    path: str
    key: str
    size: int
    posted_at: datetime


@dataclass(frozen=True)
class LogAux:
    log_message: str
    log_type: str
    date_created: datetime | None = None


@dataclass(frozen=True)
class LogDetail:
    run_id: int
    date_created: datetime
    log_type: str
    log_message: str
    asset_name: str | None = None
    asset_type: str | None = None
    asset_handle: str | None = None
    aux: tuple[LogAux, ...] = ()


@dataclass(frozen=True)
class RunDetails:
    """A run with one page of its log details and how many match in all."""

    run: Run
    total_rows: int
    details: tuple[LogDetail, ...]


@dataclass(frozen=True)
class AssetLog:
    run: Run
    detail: LogDetail
