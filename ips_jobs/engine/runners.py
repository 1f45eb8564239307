"""What each job type's run does, as a plan of steps with the log rows IPS writes for it.

A Planner is the one interface the engine is fed through: it turns a run into a Plan. The
default plans simulate the work; a later behaviour (fault injection, real downloads) is
another Planner, usually wrapping this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    """The steps of a run, the JobLog's logType/jobSubType, and how it ends."""

    log_type: str
    end_type: str
    steps: tuple[Step, ...]
    job_sub_type: str = ""
    fatal: bool = False


class Planner(Protocol):
    def plan(self, run: Run) -> Plan:
        """The whole plan of a run; called again for each step, so it must be deterministic."""
        ...


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


class SimulatedPlanner:
    """Plans that look like IPS's own job logs; nothing is downloaded or published."""

    def __init__(self, public_url: str, max_item_steps: int = 8) -> None:
        self.public_url = public_url.rstrip("/")
        self.max_item_steps = max_item_steps

    def plan(self, run: Run) -> Plan:
        family = FAMILIES.get(run.kind, FAMILIES["uploadUrlsJob"])
        items = self._items(run, family)
        begin = Step(
            0,
            family.message,
            (
                Entry(family.begin, _begin_message(family)),
                Entry("OriginalJobName", run.original_name),
                Entry("JobClient", run.server_name),
            ),
            tasks=_tasks(run, 0, len(items)),
        )
        steps = [begin]
        chunk = max(1, -(-len(items) // self.max_item_steps))
        done = LogCounts()
        for start in range(0, len(items), chunk):
            batch = items[start : start + chunk]
            done = _count(done, batch, family)
            finished = start + len(batch)
            steps.append(
                Step(
                    progress=min(99, 100 * finished // max(1, len(items))),
                    message=family.message,
                    entries=tuple(batch),
                    counts=done,
                    tasks=_tasks(run, finished, len(items)),
                )
            )
        closing = Entry(family.end, _end_message(run, done))
        steps.append(Step(100, "Done", (closing,), done, _tasks(run, len(items), len(items))))
        sub_type = ""
        if run.kind == "imageServingPublishJob":
            sub_type = PUBLISH_SUB_TYPES.get(run.detail.get("publishType", ""), "")
        return Plan(family.begin, family.end, tuple(steps), sub_type)

    def _items(self, run: Run, family: Family) -> list[Entry]:
        if run.kind == "uploadUrlsJob":
            return [
                self._upload(run, i, item, family)
                for i, item in enumerate(defaults.upload_urls(run.detail), start=1)
            ]
        if run.kind == "exportJob":
            url = f"{self.public_url}/_ips/exports/{run.id}.zip"
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
    return f"Job completed: {counts.file_success} succeeded, {counts.file_error} failed; {notice}"


def _recount(message: str, counts: LogCounts) -> str:
    """The End row's summary, with the counts after injected failures."""
    _, _, notice = message.partition("; ")
    summary = f"Job completed: {counts.file_success} succeeded, {counts.file_error} failed"
    return f"{summary}; {notice}" if notice else summary


def _email_setting(run: Run) -> str | None:
    value = run.detail.get("emailSetting")
    return value if isinstance(value, str) else None


def _count(counts: LogCounts, batch: list[Entry], family: Family) -> LogCounts:
    ok = sum(1 for e in batch if e.log_type == family.success)
    failed = sum(1 for e in batch if e.log_type == family.error)
    return LogCounts(
        file_success=counts.file_success + ok,
        file_error=counts.file_error + failed,
        total_file=counts.total_file + len(batch),
        transfer_success=counts.transfer_success + ok,
        transfer_error=counts.transfer_error + failed,
    )


def _tasks(run: Run, processed: int, total: int) -> tuple[Task, ...]:
    if run.kind != "uploadUrlsJob":
        return ()
    state = "Done" if processed >= total else "Processing"
    return (
        Task(UPLOAD_TASK, state, processed, 0, total - processed),
        Task(AUTOSET_TASK, "New" if processed < total else "Done", 0, 0, 0),
    )


class InjectingPlanner:
    """Applies a fault rule the engine attached to a run (`run.injected`): the run ends with
    a FatalError, or every file fails to upload. Other runs get the inner plan unchanged."""

    def __init__(self, inner: Planner) -> None:
        self.inner = inner

    def plan(self, run: Run) -> Plan:
        plan = self.inner.plan(run)
        effect = (run.injected or {}).get("effect")
        reason = (run.injected or {}).get("reason")
        family = FAMILIES.get(run.kind, FAMILIES["uploadUrlsJob"])
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
