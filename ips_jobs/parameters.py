"""Every parameter of every operation ips-jobs answers, and whether it is honoured.

The one hand-kept table of it: `reference` rates operations on docs/parity.md from it (full
only when every parameter is honoured), the unit tests hold it to the `<op>Param` elements of
`wsdl/ips-types.xsd` and to what the handlers read, and the e2e tests prove honoured ones over
HTTP. Job operations are as documented in the spec's §3 (the project's `ips-job-api.md`, kept
outside this repository); the non-job ones as the schema declares them.
"""

from __future__ import annotations

from typing import NamedTuple

from ips_jobs.domain.jobs import JOB_TYPES

#: The parameter does what IPS documents (within docs/differences.md).
HONOURED = "honoured"
#: Read and used, but part of what IPS documents for it is missing (the note says what).
PARTLY = "partly honoured"
#: Read and checked (a bad value is a fault), but it cannot change the answer yet.
NO_EFFECT = "read, no effect"
#: Accepted by the schema, never read.
IGNORED = "ignored"

SUPPORT_LEVELS: tuple[str, ...] = (HONOURED, PARTLY, NO_EFFECT, IGNORED)


class Parameter(NamedTuple):
    operation: str
    name: str
    support: str
    note: str = ""


def _same(operations: tuple[str, ...], *params: tuple[str, str, str]) -> tuple[Parameter, ...]:
    return tuple(Parameter(op, *param) for op in operations for param in params)


_CONTROLS = ("stopJob", "pauseJob", "resumeJob", "executeJob", "deleteJob")
_SIMULATED_RUN = "the run itself is simulated (see Job types)"

#: In each `<op>Param`'s schema order; operations in the spec's order, then the non-job ones.
PARAMETERS: tuple[Parameter, ...] = (
    Parameter("submitJob", "companyHandle", HONOURED),
    Parameter(
        "submitJob",
        "userHandle",
        HONOURED,
        "must be a member of the company; kept as the job's e-mail user (no e-mail is sent)",
    ),
    Parameter("submitJob", "jobName", HONOURED),
    Parameter(
        "submitJob",
        "locale",
        PARTLY,
        "kept and echoed by getScheduledJobs and getActiveJobs; log messages are always English",
    ),
    Parameter("submitJob", "execTime", HONOURED),
    Parameter(
        "submitJob",
        "execSchedule",
        HONOURED,
        "as docs/schedules.md describes; IPS's custom schedule format is not published",
    ),
    Parameter("submitJob", "description", HONOURED),
    *(Parameter("submitJob", kind, HONOURED, _SIMULATED_RUN) for kind in JOB_TYPES),
    Parameter("getScheduledJobs", "companyHandle", HONOURED, "absent: every company of the caller"),
    Parameter("getScheduledJobs", "jobHandle", HONOURED),
    Parameter("getScheduledJobs", "originalName", HONOURED),
    Parameter("getActiveJobs", "companyHandle", HONOURED, "absent: every company of the caller"),
    Parameter("getActiveJobs", "jobHandle", HONOURED),
    Parameter("getActiveJobs", "originalName", HONOURED),
    Parameter(
        "getActiveJobs",
        "includeWaitingJobs",
        NO_EFFECT,
        "a boolean (else 30001); no run is ever waiting, so true and false answer alike",
    ),
    Parameter("getJobLogs", "companyHandle", HONOURED, "absent: every company of the caller"),
    Parameter("getJobLogs", "userHandle", HONOURED),
    Parameter("getJobLogs", "sortBy", HONOURED, "absent: by start date"),
    Parameter("getJobLogs", "sortDirection", HONOURED, "absent: Descending"),
    Parameter("getJobLogs", "startDate", HONOURED, "runs started at or after it"),
    Parameter("getJobLogs", "endDate", HONOURED, "runs started at or before it"),
    Parameter("getJobLogs", "numRows", HONOURED, "absent: 1000"),
    Parameter("getJobLogDetails", "companyHandle", HONOURED),
    Parameter("getJobLogDetails", "jobHandle", HONOURED),
    Parameter("getJobLogDetails", "originalName", HONOURED),
    Parameter(
        "getJobLogDetails", "logTypeArray", HONOURED, "a type IPS does not know matches nothing"
    ),
    Parameter("getJobLogDetails", "recordsPerPage", HONOURED, "more than 1000 is served as 1000"),
    Parameter("getJobLogDetails", "resultsPage", HONOURED),
    Parameter("getJobLogDetails", "sortBy", HONOURED),
    Parameter("getJobLogDetails", "sortDirection", HONOURED),
    Parameter("getAssetJobLogs", "companyHandle", HONOURED),
    Parameter("getAssetJobLogs", "assetHandle", HONOURED),
    *_same(_CONTROLS, ("companyHandle", HONOURED, ""), ("jobHandle", HONOURED, "")),
    Parameter("checkLogin", "companyHandle", HONOURED),
    Parameter("checkLogin", "email", HONOURED),
    Parameter("checkLogin", "password", HONOURED),
    Parameter("getCompanyInfo", "companyHandle", HONOURED),
    Parameter("getCompanyInfo", "companyName", HONOURED),
    Parameter("getCompanyInfo", "imsOrgId", IGNORED, "there are no IMS organisations"),
    Parameter("getUserInfo", "userHandle", HONOURED),
    Parameter("getUserInfo", "email", HONOURED),
)


def of(operation: str) -> tuple[Parameter, ...]:
    """The operation's parameters in schema order; empty for one the table does not know."""
    return tuple(p for p in PARAMETERS if p.operation == operation)


def support(operation: str, name: str) -> str:
    """How `operation` treats parameter `name`; KeyError if the table lacks it."""
    for p in PARAMETERS:
        if (p.operation, p.name) == (operation, name):
            return p.support
    raise KeyError(f"{operation}/{name} is not in ips_jobs/parameters.py")


def not_honoured(operation: str) -> tuple[Parameter, ...]:
    return tuple(p for p in of(operation) if p.support != HONOURED)
