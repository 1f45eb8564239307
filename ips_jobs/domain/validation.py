"""The submitJob and query rules IPS enforces in server logic (the schema cannot express them).
Each violation names the field it is about."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ips_jobs.domain import constants, defaults
from ips_jobs.domain.jobs import JOB_TYPES, Detail
from ips_jobs.errors import InvalidParameter, MissingParameter

_CROP_OPTIONS = (
    "knockoutBackgroundOptions",
    "manualCropOptions",
    "autoColorCropOptions",
    "autoTransparentCropOptions",
)
_POST_PUBLISH_JOBS = (
    "postImageServingPublishJob",
    "postImageRenderingPublishJob",
    "postVideoPublishJob",
)
#: The longest locale the store keeps (`scheduled_jobs.locale`, `job_runs.locale`).
_MAX_LOCALE = 20
#: Characters no IPS answer can carry: SOAP is XML 1.0, whose Char production this negates.
UNSENDABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: The range of the store's integer columns (PostgreSQL `integer`).
INT32 = range(-(2**31), 2**31)


def sendable(value: str, field: str) -> str:
    """Text that is stored and later sent in SOAP answers (names, e-mails, fault reasons)."""
    if found := UNSENDABLE.search(value):
        raise InvalidParameter(field, f"character U+{ord(found[0]):04X} cannot be sent in SOAP")
    return value


def required_text(value: str | None, field: str) -> str:
    if value is None or not value.strip():
        raise MissingParameter(field)
    return value.strip()


def job_name(value: str | None) -> str:
    name = required_text(value, "jobName")
    if "|" in name:
        raise InvalidParameter("jobName", "a job name cannot contain '|'")
    if len(name) > 200:
        raise InvalidParameter("jobName", "a job name is at most 200 characters")
    return name


def job_locale(given: str | None, requested: str | None) -> str:
    """A job's locale: its own, else the request's, else the server default. Its own must fit
    the store; a request's that does not is passed over (the client never sent it as the
    job's)."""
    own = (given or "").strip()
    if len(own) > _MAX_LOCALE:
        raise InvalidParameter(
            "locale", f"a locale is at most {_MAX_LOCALE} characters, e.g. en-US"
        )
    if own:
        return own
    fallback = (requested or "").strip()
    return fallback if 0 < len(fallback) <= _MAX_LOCALE else defaults.LOCALE


def one_job_type(job_types: Mapping[str, Detail | None]) -> tuple[str, Detail]:
    given = [(kind, detail) for kind, detail in job_types.items() if detail is not None]
    if not given:
        raise MissingParameter("one of " + ", ".join(JOB_TYPES))
    if len(given) > 1:
        names = " and ".join(kind for kind, _ in given)
        raise InvalidParameter(names, "choose only one type of job in the request")
    kind, detail = given[0]
    job_detail(kind, detail)
    return kind, detail


def job_detail(kind: str, detail: Detail) -> None:
    for option_group in (_CROP_OPTIONS, _POST_PUBLISH_JOBS):
        chosen = [name for name in option_group if detail.get(name) is not None]
        if len(chosen) > 1:
            raise InvalidParameter(f"{kind}/{chosen[1]}", f"choose at most one of {chosen}")
    for path, key, value in _walk(kind, detail):
        if key == "emailSetting":
            one_of(value, constants.EMAIL_SETTINGS, path)
        elif key == "publishType":
            one_of(value, constants.PUBLISH_TYPES, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidParameter(path, f"'{value}' is not a finite number")
    if kind == "exportJob":
        one_of(detail.get("fmt"), constants.EXPORT_FORMATS, "exportJob/fmt")
    if kind == "uploadUrlsJob" and not (detail.get("urlArray") or {}).get("items"):
        raise MissingParameter("uploadUrlsJob/urlArray")


def one_of(value: Any, allowed: Iterable[str], field: str) -> None:
    """An IPS string constant, matched exactly as documented (case included). The fault lists
    the accepted values, so a caller can correct the request without looking them up."""
    options = sorted(allowed)
    if value not in options:
        raise InvalidParameter(field, f"'{value}' (accepted: {', '.join(options)})")


def optional_one_of(value: str | None, allowed: Iterable[str], field: str) -> None:
    """`one_of` for a parameter that may be left out (None means absent, not invalid)."""
    if value is not None:
        one_of(value, allowed, field)


def page_size(value: int | None, field: str = "recordsPerPage") -> int:
    """IPS documents 1000 as both the default and the most: more is served as 1000 (the
    client pages on with detailTotalRows) rather than refused."""
    if value is None:
        return constants.MAX_RECORDS_PER_PAGE
    if value < 1:
        raise InvalidParameter(field, f"{value} must be at least 1")
    return min(value, constants.MAX_RECORDS_PER_PAGE)


def positive(value: int | None, field: str, default: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise InvalidParameter(field, f"{value} must be at least 1")
    return value


def _walk(path: str, data: Any) -> Iterable[tuple[str, str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield f"{path}/{key}", key, value
            yield from _walk(f"{path}/{key}", value)
    elif isinstance(data, list):
        for item in data:
            yield from _walk(path, item)
