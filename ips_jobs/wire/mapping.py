"""Pure functions from domain objects to the plain data the writer renders, in IPS field names."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Final

from ips_jobs.domain import defaults, handles
from ips_jobs.domain.asset_service import BatchResult, ItemFault
from ips_jobs.domain.assets import Asset, AssetInfo, Folder, FolderTree, Publication
from ips_jobs.domain.handles import HandleStyle
from ips_jobs.domain.jobs import (
    AssetLog,
    Company,
    LogAux,
    LogDetail,
    Run,
    RunDetails,
    RunState,
    ScheduledJob,
    TaskProgress,
    User,
)
from ips_jobs.domain.upload_posts import UploadStatus

Data = dict[str, Any]

#: Company/expires, the instant the captured real getCompanyInfo answer holds
#: (`2100-12-31T23:00:00.000-06:00`): no company expires here, and clients that read the
#: element get a date, written like every other one in the server's time zone.
COMPANY_EXPIRES = datetime(2101, 1, 1, 5, 0, tzinfo=UTC)


def scheduled_job(job: ScheduledJob, style: HandleStyle) -> Data:
    return {
        "companyHandle": handles.company(job.company_id, style),
        "jobHandle": handles.definition(job.company_id, job.name, style),
        "name": job.name,
        "originalName": job.name,
        "type": job.type,
        "submitUserEmail": job.submit_user_email,
        "locale": job.locale,
        "description": job.description,
        "execSchedule": job.exec_schedule,
        "nextFireTime": job.next_fire_time,
        "timeZone": job.time_zone,
        "triggerState": job.trigger_state.value,
        job.kind: defaults.echoed(job.kind, job.detail),
    }


def active_job(run: Run, style: HandleStyle) -> Data:
    return {
        "companyHandle": handles.company(run.company_id, style),
        "jobHandle": handles.run(run.company_id, run.name, run.id, style),
        "name": run.name,
        "originalName": run.original_name,
        "type": run.type,
        "state": run.state.value,
        "submitUserEmail": run.submit_user_email,
        "locale": run.locale,
        "description": run.description,
        "serverName": run.server_name,
        "startDate": run.start_date,
        "triggerTime": run.trigger_time,
        "totalSize": run.total_size,
        "progress": run.progress,
        "progressMessage": run.progress_message,
        "lastProgressUpdate": run.last_progress_update or run.start_date,
        "taskProgressArray": {"items": [task_progress(t) for t in run.tasks]},
        run.kind: defaults.echoed(run.kind, run.detail),
    }


#: UploadTask/processingStatus by the job's state (IPS's value set is not known: ours).
_PROCESSING = {
    RunState.WAITING_CLIENT: "Waiting",
    RunState.NEW: "Queued",
    RunState.RUNNING: "Processing",
    RunState.STOPPING: "Stopping",
}


def upload_status(status: UploadStatus, style: HandleStyle) -> Data:
    """getUploadTaskStatus: one ClusterUploadTaskStatus holding the job's status, one task per
    file posted, in the order they came, each as far as the job has got."""
    run = status.run
    ended = run.state is RunState.DONE
    stopped = ended and (run.fatal_error or run.stop_requested_at is not None)
    progress = 1.0 if ended else run.progress / 100
    processing = ("Failed" if stopped else "Completed") if ended else _PROCESSING[run.state]
    added = max((f.posted_at for f in status.files), default=run.start_date)
    tasks = [
        {
            "file": posted.path,
            "processingStatus": processing,
            "workflowState": run.state.value,
            "progress": progress,
            "renditions": {},
        }
        for posted in status.files
    ]
    return {
        "statusArray": {
            "items": [
                {
                    "jobHandle": handles.run(run.company_id, run.name, run.id, style),
                    "isJobStopped": ended or run.state is RunState.STOPPING,
                    "lastAdded": added,
                    "lastCompleted": run.end_date,
                    "taskArray": {"items": tasks},
                }
            ]
        }
    }


def task_progress(task: TaskProgress) -> Data:
    return {
        "taskType": task.task_type,
        "taskState": task.task_state,
        "numProcessed": task.num_processed,
        "numProcessing": task.num_processing,
        "numPending": task.num_pending,
        "progress": task.progress,
        "progressMessage": task.progress_message,
        "lastProgressUpdate": task.last_progress_update,
        "taskItemProgressArray": {},
    }


def job_log(run: Run, style: HandleStyle, page: RunDetails | None = None) -> Data:
    counts = run.counts
    data: Data = {
        "companyHandle": handles.company(run.company_id, style),
        "jobHandle": handles.run(run.company_id, run.name, run.id, style),
        "jobName": run.name,
        "originalJobName": run.original_name,
        "submitUserEmail": run.submit_user_email,
        "logType": run.log_type,
        "jobSubType": run.job_sub_type,
        "startDate": run.start_date,
        "endDate": run.end_date,
        "description": run.description or "",
        "fileSuccessCount": counts.file_success,
        "fileErrorCount": counts.file_error,
        "fileWarningCount": counts.file_warning,
        "fileDuplicateCount": counts.file_duplicate,
        "fileUpdateCount": counts.file_update,
        "totalFileCount": counts.total_file,
        "transferSuccessCount": counts.transfer_success,
        "transferErrorCount": counts.transfer_error,
        "transferWarningCount": counts.transfer_warning,
        "fatalError": run.fatal_error,
    }
    if page is not None:
        data["detailTotalRows"] = page.total_rows
        data["detailArray"] = {"items": [log_detail(d) for d in page.details]}
    return data


def log_detail(detail: LogDetail) -> Data:
    return {
        "logMessage": detail.log_message,
        "logType": detail.log_type,
        "dateCreated": detail.date_created,
        "assetName": detail.asset_name,
        "assetType": detail.asset_type,
        "assetHandle": detail.asset_handle,
        "auxArray": aux_array(detail.aux),
    }


def aux_array(aux: tuple[LogAux, ...]) -> Data | None:
    if not aux:
        return None
    return {
        "items": [
            {"logMessage": a.log_message, "logType": a.log_type, "dateCreated": a.date_created}
            for a in aux
        ]
    }


def asset_log(entry: AssetLog, style: HandleStyle) -> Data:
    run, detail = entry.run, entry.detail
    return {
        "jobHandle": handles.run(run.company_id, run.name, run.id, style),
        "jobName": run.name,
        "logMessage": detail.log_message,
        "logType": detail.log_type,
        "submitUserEmail": run.submit_user_email,
        "logDate": detail.date_created,
        "auxArray": aux_array(detail.aux),
    }


def company(found: Company, style: HandleStyle) -> Data:
    return {
        "companyHandle": handles.company(found.id, style),
        "name": found.name,
        "rootPath": found.root_path,
        "expires": COMPANY_EXPIRES,
    }


def user(found: User, style: HandleStyle) -> Data:
    return {
        "userHandle": handles.user(found.id, found.email, style),
        "firstName": found.first_name,
        "lastName": found.last_name,
        "email": found.email,
        "isValid": True,
        "isIpsAdmin": found.role == "IpsAdmin",
        "defaultRole": found.role,
        "role": found.role,
        # no password here expires: the far-off instant companies expire at (the old User
        # types require the element)
        "passwordExpires": COMPANY_EXPIRES,
    }


#: Asset types whose info element is not named after the type (the rest: `imageInfo` for
#: Image, `pdfInfo` for Pdf, …; ips-asset-api.md §6.2).
INFO_ELEMENTS: Final = {
    "PDFSettings": "pdfSettingsInfo",
    "PsdTemplate": "psdInfo",
    "PremierExpressRemix": "premiereExpressRemixInfo",
    "WindowsCovering": "windowCoveringInfo",
}
#: The arrays of ImageInfo, which ips-jobs keeps none of: written empty, as IPS writes them.
_IMAGE_ARRAYS: Final = ("zoomTargets", "masks", "imageMaps")
_CAPITAL = re.compile(r"_([a-z])")


def asset(found: Asset, style: HandleStyle) -> Data:
    """An Asset with the one info element of its type (the writer keeps the fields that
    element has). `projects` is empty and `metadataArray` has no items: ips-jobs keeps
    neither projects nor metadata fields."""
    info = found.info
    thumbnail = (
        f"image-no-ips/{info.optimized_path}{info.optimized_file}"
        if info.optimized_path is not None and info.optimized_file is not None
        else None
    )
    return {
        "assetHandle": handles.asset(found.id, style),
        "type": found.type,
        "subType": found.sub_type,
        "name": found.name,
        "fileName": found.file_name,
        "folder": found.folder,
        "folderHandle": handles.folder(found.folder, style),
        "readyForPublish": found.ready_for_publish,
        "trashState": found.trash_state.value,
        "projects": "",
        "ipsImageUrl": thumbnail,
        "created": found.created_at,
        "createUser": found.created_by,
        "lastModified": found.modified_at,
        "lastModifyUser": found.modified_by,
        "metadataArray": {},
        info_element(found.type): asset_info(info),
    }


def info_element(asset_type: str) -> str:
    return INFO_ELEMENTS.get(asset_type) or f"{asset_type[:1].lower()}{asset_type[1:]}Info"


def asset_info(info: AssetInfo) -> Data:
    """Every info field in IPS's names; the writer keeps those of the element it writes."""
    fields: Data = {_CAPITAL.sub(lambda m: m[1].upper(), k): v for k, v in asdict(info).items()}
    return {**fields, **{name: {} for name in _IMAGE_ARRAYS}}


def asset_summary(found: Asset, style: HandleStyle) -> Data:
    """searchAssetsByMetadata's AssetSummary: the Asset's fields of those names, and its
    `filename` (no score: there is no similarity search)."""
    return {**asset(found, style), "filename": found.file_name}


def folder(found: Folder, style: HandleStyle) -> Data:
    return {
        "folderHandle": handles.folder(found.path, style),
        "path": found.path,
        "lastModified": found.modified_at,
        "childLastModified": found.child_modified_at,
        "hasSubfolders": found.has_subfolders,
    }


def folder_tree(tree: FolderTree, style: HandleStyle) -> Data:
    """A folder with its subfolders down to the depth asked; a folder without them (a leaf,
    or one at the depth limit) has no subfolderArray."""
    data = folder(tree.folder, style)
    if tree.subfolders:
        data["subfolderArray"] = {"items": [folder_tree(t, style) for t in tree.subfolders]}
    return data


def publication(found: Publication) -> Data:
    """getAssetPublishHistory's PublishHistory (no publishFormat when the publish had none)."""
    return {
        "serverName": found.server_name,
        "contextName": found.context_name,
        "publishFormat": found.publish_format,
        "lastPublished": found.published_at,
    }


def batch(result: BatchResult) -> Data:
    """A batch answer; an empty detail array is left out, as in IPS's documented example."""
    return {
        "successCount": result.success_count,
        "warningCount": 0,
        "errorCount": len(result.errors),
        "errorDetailArray": {"items": [_item_fault(f) for f in result.errors]}
        if result.errors
        else None,
    }


def _item_fault(fault: ItemFault) -> Data:
    return {"assetHandle": fault.handle, "code": fault.error.code, "reason": fault.error.message}
