"""What each job type's run does, as a plan of steps with the log rows IPS writes for it.

A Planner is the one interface the engine is fed through: it turns a run into a Plan. The
plans here simulate the work; fault injection wraps them, and the jobs that act on assets
(engine/acting.py) make their plans from the work as it gets done.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

from ips_jobs.domain import defaults
from ips_jobs.domain.jobs import LogCounts, Run

UPLOAD_TASK = "com.scene7.upload.UploadAsyncTaskMonitor"
AUTOSET_TASK = "com.scene7.autoset.AutoSetAsyncTaskMonitor"
_DOWNLOADABLE = ("http", "https", "ftp")
_ASSET_TYPES = {".pdf": "Pdf", ".svg": "Svg", ".zip": "Zip", ".mp4": "Video", ".mov": "Video"}


@dataclass(frozen=True)
class Entry:
    """One job log detail row a step writes."""

    log_type: str
    message: str
    asset_name: str | None = None
    asset_type: str | None = None
    asset_handle: str | None = None
    #: How many files the row stands for in the JobLog's counts (a publish's one row may
    #: stand for every asset it published).
    files: int = 1


@dataclass(frozen=True)
class Task:
    """A TaskProgress the run reports while it works (timestamps are added when saved)."""

    task_type: str
    state: str
    processed: int
    processing: int
    pending: int


@dataclass(frozen=True)
class Step:
    progress: int
    message: str
    entries: tuple[Entry, ...] = ()
    counts: LogCounts = field(default_factory=LogCounts)
    tasks: tuple[Task, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The steps of a run, the JobLog's logType/jobSubType, and how it ends. A run whose work
    is still going on has `pending` steps more than these to come (as far as known)."""

    log_type: str
    end_type: str
    steps: tuple[Step, ...]
    job_sub_type: str = ""
    fatal: bool = False
    pending: int = 0


class Planner(Protocol):
    def plan(self, run: Run) -> Plan:
        """The plan of a run as far as it is known; called again for each step, so the steps
        it has given must come out the same. It starts no work."""
        ...

    def start(self, run: Run) -> None:
        """The engine is about to step the run: its real work, if any, starts here."""

    def forget(self, run_id: int) -> None:
        """The run ended or is no longer ours: work still going on for it is dropped."""

    def close(self) -> None:
        """The engine stops: work in progress is abandoned."""


@dataclass(frozen=True)
class Family:
    """The log types of a job type's Begin / success / error / End rows."""

    begin: str
    success: str
    error: str
    end: str
    message: str


FAMILIES: dict[str, Family] = {
    "imageServingPublishJob": Family(
        "BeginImageServingPublish",
        "ImageServingPublishSuccess",
        "ImageServingPublishError",
        "EndImageServingPublish",
        "Starting to generate manifest files.",
    ),
    "imageRenderingPublishJob": Family(
        "BeginImageRenderingPublish",
        "ImageRenderingPublishSuccess",
        "ImageRenderingPublishError",
        "EndImageRenderingPublish",
        "Publishing render data.",
    ),
    "videoPublishJob": Family(
        "BeginVideoPublish",
        "VideoPublishSuccess",
        "VideoPublishError",
        "EndVideoPublish",
        "Publishing video.",
    ),
    "serverDirectoryPublishJob": Family(
        "BeginServerDirectoryPublish",
        "ServerDirectoryPublishSuccess",
        "ServerDirectoryPublishError",
        "EndServerDirectoryPublish",
        "Publishing to directory.",
    ),
    "metadataPublishJob": Family(
        "BeginMetadata",
        "MetadataSuccess",
        "MetadataFailure",
        "EndMetadata",
        "Publishing metadata.",
    ),
    "uploadDirectoryJob": Family(
        "BeginUpload",
        "UploadSuccess",
        "UploadError",
        "EndUpload",
        "Uploading files",
    ),
    "uploadUrlsJob": Family(
        "BeginUpload",
        "UploadSuccess",
        "UploadError",
        "EndUpload",
        "Optimizing files",
    ),
    "uploadPostJob": Family(
        "BeginUpload",
        "UploadSuccess",
        "UploadError",
        "EndUpload",
        "Uploading files",
    ),
    "optimizeImagesJob": Family(
        "BeginReoptimize",
        "ReoptimizeSuccess",
        "ReoptimizeFailure",
        "endReoptimize",
        "Optimizing files",
    ),
    "ripPdfsJob": Family(
        "BeginPdfRip", "UploadSuccess", "PdfRipError", "EndUpload", "Ripping PDFs"
    ),
    "reprocessAssetsJob": Family(
        "BeginReoptimize",
        "ReoptimizeSuccess",
        "ReoptimizeFailure",
        "endReoptimize",
        "Reprocessing assets",
    ),
    "createVideoSitemapJob": Family(
        "BeginVideoPublish",
        "VideoPublishSuccess",
        "VideoPublishError",
        "EndVideoPublish",
        "Creating video sitemap",
    ),
    "exportJob": Family("BeginGet", "ReturnSuccess", "GetFailure", "EndGet", "Exporting assets"),
    "automatedSetGenerationJob": Family(
        "BeginTemplateMerge",
        "TemplateMergeSuccess",
        "TemplateMergeError",
        "EndTemplateMerge",
        "Generating sets",
    ),
}

#: JobLog/jobSubType of an Image Serving publish, by publishType.
PUBLISH_SUB_TYPES = {"Full": "full", "Incremental": "increment", "FullWithSearch": "fullwithsearch"}


#: Keys the export download URLs this engine process writes (see export_url).
_EXPORT_SECRET = secrets.token_bytes(32)


def export_url(public_url: str, run_id: int) -> str:
    """Where an export run's ZIP is downloaded (control/exports.py serves it, without the
    control token: SOAP clients fetch it). The ZIP holds the assets' files, and run ids are
    counted: the URL carries a key no one can guess, and only the URL the run logged opens
    it. The same run gets the same URL from this process (plans must come out the same)."""
    digest = hmac.new(_EXPORT_SECRET, str(run_id).encode(), hashlib.sha256).digest()
    key = base64.urlsafe_b64encode(digest[:18]).decode()
    return f"{public_url.rstrip('/')}/_ips/exports/{run_id}.zip?key={key}"


def family_of(run: Run) -> Family:
    return FAMILIES.get(run.kind, FAMILIES["uploadUrlsJob"])


def lay_out(
    run: Run, items: Sequence[Entry], total: int, done: bool, max_item_steps: int = 8
) -> Plan:
    """The plan of a run whose item rows are `items`, the first of `total`: its Begin rows,
    the items in at most `max_item_steps` steps of equal size (a step not yet full is held
    back until the work is `done`), then, once done, the End row."""
    family = family_of(run)
    begin = Step(
        0,
        family.message,
        (
            Entry(family.begin, _begin_message(family)),
            Entry("OriginalJobName", run.original_name),
            Entry("JobClient", run.server_name),
        ),
        tasks=_tasks(run, 0, total),
    )
    steps = [begin]
    chunk = max(1, -(-total // max_item_steps))
    counts = LogCounts()
    for start in range(0, len(items), chunk):
        batch = items[start : start + chunk]
        if len(batch) < chunk and not done:
            break
        counts = _count(counts, batch, family)
        finished = start + len(batch)
        steps.append(
            Step(
                progress=min(99, 100 * finished // max(1, total)),
                message=family.message,
                entries=tuple(batch),
                counts=counts,
                tasks=_tasks(run, finished, total),
            )
        )
    sub_type = ""
    if run.kind == "imageServingPublishJob":
        sub_type = PUBLISH_SUB_TYPES.get(run.detail.get("publishType", ""), "")
    if not done:
        pending = max(1, -(-total // chunk) + 2 - len(steps))
        return Plan(family.begin, family.end, tuple(steps), sub_type, pending=pending)
    closing = Entry(family.end, _end_message(run, counts))
    steps.append(Step(100, "Done", (closing,), counts, _tasks(run, len(items), len(items))))
    return Plan(family.begin, family.end, tuple(steps), sub_type)


class SimulatedPlanner(Planner):
    """Plans that look like IPS's own job logs; nothing is downloaded or published."""

    def __init__(self, public_url: str, max_item_steps: int = 8) -> None:
        self.public_url = public_url.rstrip("/")
        self.max_item_steps = max_item_steps

    def plan(self, run: Run) -> Plan:
        items = self._items(run, family_of(run))
        return lay_out(run, items, len(items), True, self.max_item_steps)

    def _items(self, run: Run, family: Family) -> list[Entry]:
        if run.kind == "uploadUrlsJob":
            return [
                self._upload(run, i, item, family)
                for i, item in enumerate(defaults.upload_urls(run.detail), start=1)
            ]
        if run.kind == "exportJob":
            url = export_url(self.public_url, run.id)
            return [Entry(family.success, "Export is ready for download", url, "Zip")]
        if run.kind in ("automatedSetGenerationJob", "reprocessAssetsJob"):
            assets = (run.detail.get("assetHandleArray") or {}).get("items") or []
            return [
                Entry(family.success, f"{handle} was processed", None, None, handle)
                for handle in assets
            ]
        return [Entry(family.success, f"{run.type} completed")]

    def _upload(self, run: Run, index: int, item: dict[str, str], family: Family) -> Entry:
        source, dest = item.get("sourceUrl", ""), item.get("destPath", "")
        if urlsplit(source).scheme.lower() not in _DOWNLOADABLE:
            return Entry(family.error, f"Unable to download {source}", dest)
        asset_type = _ASSET_TYPES.get(PurePosixPath(dest).suffix.lower(), "MasterImage")
        handle = f"a|{run.company_id}|1|{run.id * 1000 + index}"
        return Entry(family.success, f"{dest} was processed into IPS", dest, asset_type, handle)


def _begin_message(family: Family) -> str:
    return "Upload has begun!" if family.begin == "BeginUpload" else "Job has begun"


def _end_message(run: Run, counts: LogCounts) -> str:
    setting = _email_setting(run)
    recipient = run.notify_email or run.submit_user_email
    notice = (
        "no e-mail (emailSetting None)"
        if setting in (None, "None")
        else f"e-mail ({setting}) would be sent to {recipient}"
    )
    return f"{_summary(counts)}; {notice}"


def _summary(counts: LogCounts) -> str:
    updated = f", {counts.file_update} updated" if counts.file_update else ""
    skipped = f", {counts.file_duplicate} skipped" if counts.file_duplicate else ""
    return (
        f"Job completed: {counts.file_success} succeeded{updated}{skipped}, "
        f"{counts.file_error} failed"
    )


def _recount(message: str, counts: LogCounts) -> str:
    """The End row's summary, with the counts after injected failures."""
    _, _, notice = message.partition("; ")
    summary = _summary(counts)
    return f"{summary}; {notice}" if notice else summary


def _email_setting(run: Run) -> str | None:
    value = run.detail.get("emailSetting")
    return value if isinstance(value, str) else None


#: Item rows other than the family's success and error rows, and the count each adds to.
_OUTCOMES = {"FileUpdated": "file_update", "DuplicateSkipped": "file_duplicate"}


def _count(counts: LogCounts, batch: Sequence[Entry], family: Family) -> LogCounts:
    """The counts after these rows: a file that arrived is a transfer success whatever was
    done with it (created, updated, skipped as a duplicate)."""
    values = asdict(counts)
    for entry in batch:
        if entry.log_type == family.error:
            kept, transfer = "file_error", "transfer_error"
        elif entry.log_type == family.success:
            kept, transfer = "file_success", "transfer_success"
        elif entry.log_type in _OUTCOMES:
            kept, transfer = _OUTCOMES[entry.log_type], "transfer_success"
        else:
            continue
        values[kept] += entry.files
        values[transfer] += entry.files
        values["total_file"] += entry.files
    return LogCounts(**values)


def _tasks(run: Run, processed: int, total: int) -> tuple[Task, ...]:
    if run.kind != "uploadUrlsJob":
        return ()
    state = "Done" if processed >= total else "Processing"
    return (
        Task(UPLOAD_TASK, state, processed, 0, total - processed),
        Task(AUTOSET_TASK, "New" if processed < total else "Done", 0, 0, 0),
    )


def injected(run: Run) -> bool:
    """A fault rule applies to the run: it gets nothing through, so it does no real work."""
    return (run.injected or {}).get("effect") in ("fatal_run", "upload_errors")


class InjectingPlanner(Planner):
    """Applies a fault rule the engine attached to a run (`run.injected`): the run ends with
    a FatalError, or every file fails to upload. Other runs get the inner plan unchanged."""

    def __init__(self, inner: Planner) -> None:
        self.inner = inner

    def start(self, run: Run) -> None:
        self.inner.start(run)

    def forget(self, run_id: int) -> None:
        self.inner.forget(run_id)

    def close(self) -> None:
        self.inner.close()

    def plan(self, run: Run) -> Plan:
        plan = self.inner.plan(run)
        effect = (run.injected or {}).get("effect")
        reason = (run.injected or {}).get("reason")
        family = family_of(run)
        if effect == "fatal_run":
            return replace(plan, steps=_fatal(plan.steps, family, reason), fatal=True)
        if effect == "upload_errors":
            return replace(plan, steps=_failed_uploads(plan.steps, family, reason))
        return plan


def _fatal(steps: tuple[Step, ...], family: Family, reason: str | None) -> tuple[Step, ...]:
    """A run that fails for good: it takes as long as the real one, but no file gets through,
    so it writes no success row and counts none (a client must not fetch what a failed run
    reported); rows about files that failed anyway stay. Its last step is the FatalError."""
    message = reason or "Injected fatal error"
    counts = LogCounts()
    kept: list[Step] = []
    for step in steps[:-1]:
        entries = tuple(e for e in step.entries if e.log_type != family.success)
        failed = [e for e in entries if e.log_type == family.error]
        counts = _count(counts, failed, family) if failed else counts
        kept.append(replace(step, entries=entries, counts=counts))
    last = steps[-1]
    fatal = Step(last.progress, message, (Entry("FatalError", message),), counts, last.tasks)
    return (*kept, fatal)


def _failed_uploads(
    steps: tuple[Step, ...], family: Family, reason: str | None
) -> tuple[Step, ...]:
    counts = LogCounts()
    failed: list[Step] = []
    for step in steps:
        entries = tuple(
            replace(
                e,
                log_type=family.error,
                message=reason or f"Injected upload error: {e.asset_name}",
                asset_handle=None,
            )
            if e.log_type == family.success
            else e
            for e in step.entries
        )
        items = [e for e in entries if e.log_type in (family.success, family.error)]
        counts = _count(counts, items, family) if items else counts
        entries = tuple(
            replace(e, message=_recount(e.message, counts)) if e.log_type == family.end else e
            for e in entries
        )
        failed.append(replace(step, entries=entries, counts=counts))
    return tuple(failed)
