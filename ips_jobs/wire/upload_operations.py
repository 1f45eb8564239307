"""uploadPost and getUploadTaskStatus: read the parameters, make one UploadPosts call, map
the result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ips_jobs.domain import handles
from ips_jobs.domain.upload_posts import Post, UploadPosts
from ips_jobs.wire import mapping
from ips_jobs.wire.call import Call, Data

UploadCall = Call[UploadPosts]


def upload_post(call: UploadCall) -> Data:
    run = call.service.post(
        call.caller,
        Post(
            company_handle=call.get("companyHandle"),
            job_name=call.get("jobName"),
            job_handle=call.get("jobHandle"),
            locale=call.get("locale"),
            description=call.get("description"),
            dest_folder=call.get("destFolder"),
            file_name=call.get("fileName"),
            end_job=bool(call.get("endJob")),
            upload_params=call.get("uploadParams"),
            files=call.files,
            client_address=call.client_address,
            request_locale=call.locale,
        ),
    )
    return {"jobHandle": handles.run(run.company_id, run.name, run.id, call.style)}


def get_upload_task_status(call: UploadCall) -> Data:
    status = call.service.status(call.caller, call.get("jobHandle"))
    return {"uploadTaskStatusArray": {"items": [mapping.upload_status(status, call.style)]}}


HANDLERS: dict[str, Callable[[Call[Any]], Data]] = {
    "uploadPost": upload_post,
    "getUploadTaskStatus": get_upload_task_status,
}
