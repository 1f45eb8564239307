"""The server-side defaults IPS fills into a submitted job detail, and how it echoes a detail
back (as seen in real getActiveJobs responses: URLs are counted, not echoed)."""

from __future__ import annotations

import copy
from typing import Any

from ips_jobs.domain.jobs import Detail

_RASTER = {"process": "None", "resolution": 72.0, "colorspace": "Auto", "alpha": False}

_UPLOAD_DEFAULTS: dict[str, Any] = {
    "preservePublishState": False,
    "preserveCrop": True,
    "photoshopOptions": {"process": "None"},
    "postScriptOptions": {**_RASTER, "extractSearchWords": False},
    "pdfOptions": {
        "process": "render",
        "resolution": 72.0,
        "colorspace": "Auto",
        "pdfCatalog": True,
        "extractSearchWords": False,
        "extractLinks": True,
    },
    "illustratorOptions": dict(_RASTER),
    "colorManagementOptions": {"colorManagement": "Default"},
    "autoSetCreationOptions": {},
    "postJobOnlyIfFiles": False,
    "mediaOptions": {},
    "inDesignOptions": {"process": "None"},
}

_PUBLISH_DEFAULTS: dict[str, Any] = {"httpCompletionUrl": ""}
#: An uploadPost without uploadParams (0..1 in uploadPostParam): what IPS does is not known;
#: files replace the assets of their names, as an upload from the IPS UI does.
_UPLOAD_POST_DEFAULTS: dict[str, Any] = {
    "overwrite": True,
    "readyForPublish": False,
    "createMask": False,
    "emailSetting": "None",
}

#: The locale of a job whose submitter gave none, in the job or in the request: real
#: getActiveJobs responses show it for jobs submitted without one.
LOCALE = "en-US"

DEFAULTS: dict[str, dict[str, Any]] = {
    "imageServingPublishJob": _PUBLISH_DEFAULTS,
    "imageRenderingPublishJob": _PUBLISH_DEFAULTS,
    "videoPublishJob": _PUBLISH_DEFAULTS,
    "serverDirectoryPublishJob": _PUBLISH_DEFAULTS,
    "uploadUrlsJob": _UPLOAD_DEFAULTS,
    "uploadDirectoryJob": _UPLOAD_DEFAULTS,
    "uploadPostJob": _UPLOAD_POST_DEFAULTS,
}


def with_defaults(kind: str, detail: Detail) -> Detail:
    """The detail as stored: what was sent, plus the defaults for what was left out."""
    filled = copy.deepcopy(DEFAULTS.get(kind, {}))
    filled.update(detail)
    return filled


def upload_urls(detail: Detail) -> list[dict[str, str]]:
    return list((detail.get("urlArray") or {}).get("items") or [])


def echoed(kind: str, detail: Detail) -> Detail:
    """The detail as queries return it."""
    if kind != "uploadUrlsJob":
        return detail
    shown = dict(detail)
    shown["numUrls"] = len(upload_urls(detail))
    shown["urlArray"] = {}
    return shown
