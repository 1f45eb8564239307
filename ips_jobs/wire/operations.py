"""One thin handler per IPS operation: read the parameters, make one JobService call, map the
result. Each returns the plain data of its `<op>Return`. The asset and folder operations are in
wire/asset_operations.py; HANDLERS holds both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ips_jobs.domain.jobs import JOB_TYPES
from ips_jobs.domain.service import JobService
from ips_jobs.wire import asset_operations, mapping, upload_operations, versions
from ips_jobs.wire.call import Call, Data

JobCall = Call[JobService]


def submit_job(call: JobCall) -> Data:
    job = call.service.submit(
        call.caller,
        company_handle=call.get("companyHandle"),
        user_handle=call.get("userHandle"),
        job_name=call.get("jobName"),
        locale=call.get("locale"),
        exec_time=call.get("execTime"),
        exec_schedule=call.get("execSchedule"),
        description=call.get("description"),
        job_types={kind: call.get(kind) for kind in JOB_TYPES},
        request_locale=call.locale,
    )
    return {"jobHandle": mapping.scheduled_job(job, call.style)["jobHandle"]}


def get_scheduled_jobs(call: JobCall) -> Data:
    jobs = call.service.scheduled_jobs(
        call.caller, call.get("companyHandle"), call.get("jobHandle"), call.get("originalName")
    )
    return {"jobArray": {"items": [mapping.scheduled_job(j, call.style) for j in jobs]}}


def get_active_jobs(call: JobCall) -> Data:
    """Jobs waiting for their client (uploadPost jobs, `WaitingClient`) only with
    `includeWaitingJobs` true; in a version without the parameter, always (its clients
    cannot ask, and IPS documents polling an UploadFile job with getActiveJobs)."""
    waiting: bool | None = call.get("includeWaitingJobs")
    if waiting is None:
        waiting = not versions.declares(call.namespace, "getActiveJobsParam", "includeWaitingJobs")
    runs = call.service.active_jobs(
        call.caller,
        call.get("companyHandle"),
        call.get("jobHandle"),
        call.get("originalName"),
        include_waiting=waiting,
    )
    return {"jobArray": {"items": [mapping.active_job(r, call.style) for r in runs]}}


def get_job_logs(call: JobCall) -> Data:
    runs = call.service.job_logs(
        call.caller,
        call.get("companyHandle"),
        call.get("userHandle"),
        call.get("sortBy"),
        call.get("sortDirection"),
        call.get("startDate"),
        call.get("endDate"),
        call.get("numRows"),
    )
    return {"jobLogArray": {"items": [mapping.job_log(r, call.style) for r in runs]}}


def get_job_log_details(call: JobCall) -> Data:
    return _log_details(call, call.get("originalName"))


def get_archived_job_log_details(call: JobCall) -> Data:
    """ips-jobs keeps no archive apart from its logs: the same runs answer, found by jobHandle
    alone (the archived form has no originalName)."""
    return _log_details(call, None)


def _log_details(call: JobCall, original_name: str | None) -> Data:
    pages = call.service.job_log_details(
        call.caller,
        call.get("companyHandle"),
        call.get("jobHandle"),
        original_name,
        (call.get("logTypeArray") or {}).get("items"),
        call.get("recordsPerPage"),
        call.get("resultsPage"),
        call.get("sortBy"),
        call.get("sortDirection"),
    )
    items = [mapping.job_log(page.run, call.style, page) for page in pages]
    return {"jobLogArray": {"items": items}}


def get_asset_job_logs(call: JobCall) -> Data:
    logs = call.service.asset_job_logs(
        call.caller, call.get("companyHandle"), call.get("assetHandle")
    )
    return {"jobLogArray": {"items": [mapping.asset_log(entry, call.style) for entry in logs]}}


def _control(method: Callable[..., None]) -> Callable[[JobCall], Data]:
    """stopJob, pauseJob, resumeJob, executeJob and deleteJob: a handle in, an empty return."""

    def handler(call: JobCall) -> Data:
        method(call.service, call.caller, **call.job_ref())
        return {}

    return handler


def check_login(call: JobCall) -> Data:
    valid = call.service.check_login(
        call.get("companyHandle"), call.get("email") or "", call.get("password") or ""
    )
    return {"status": "ValidLogin" if valid else "InvalidLogin"}


def get_company_info(call: JobCall) -> Data:
    company = call.service.company_info(
        call.caller, call.get("companyHandle"), call.get("companyName")
    )
    return {"companyInfo": mapping.company(company, call.style)}


def get_user_info(call: JobCall) -> Data:
    user = call.service.user_info(call.caller, call.get("userHandle"), call.get("email"))
    return {"userInfo": mapping.user(user, call.style)}


HANDLERS: dict[str, Callable[[Call[Any]], Data]] = {
    "submitJob": submit_job,
    "getScheduledJobs": get_scheduled_jobs,
    "getActiveJobs": get_active_jobs,
    "getJobLogs": get_job_logs,
    "getJobLogDetails": get_job_log_details,
    "getAssetJobLogs": get_asset_job_logs,
    # No archive apart from the logs (docs/differences.md): the live answer, in the namespaces
    # that have the operation (namespaces.OPERATION_VERSIONS).
    "getArchivedJobLogDetails": get_archived_job_log_details,
    "getAssetArchivedJobLogs": get_asset_job_logs,
    "stopJob": _control(JobService.stop_job),
    "pauseJob": _control(JobService.pause_job),
    "resumeJob": _control(JobService.resume_job),
    "executeJob": _control(JobService.execute_job),
    "deleteJob": _control(JobService.delete_job),
    "checkLogin": check_login,
    "getCompanyInfo": get_company_info,
    "getUserInfo": get_user_info,
    **asset_operations.HANDLERS,
    **upload_operations.HANDLERS,
}
