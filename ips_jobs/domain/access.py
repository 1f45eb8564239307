"""Who may call what: the IPS user roles and the documented allowed-role table per operation."""

from __future__ import annotations

from typing import Final

from ips_jobs.domain.jobs import User
from ips_jobs.errors import IllegalCompany, NoOperationPermission

ROLES: Final = (
    "IpsAdmin",
    "IpsCompanyAdmin",
    "IpsUser",
    "WebServiceUser",
    "TrialSiteAdmin",
    "TrialSiteUser",
    "ImagePortalAdmin",
    "ImagePortalUser",
    "ImagePortalContrib",
    "ImagePortalContribUser",
)

_ALL: Final = frozenset(ROLES)
_JOB_CONTROL: Final = _ALL - {"WebServiceUser", "ImagePortalUser"}

#: Exactly as the IPS documentation lists them, inconsistencies included (submitJob and
#: executeJob leave out IpsCompanyAdmin; no job operation lists WebServiceUser).
ALLOWED_ROLES: Final[dict[str, frozenset[str]]] = {
    "submitJob": _JOB_CONTROL - {"IpsCompanyAdmin"},
    "getScheduledJobs": _JOB_CONTROL,
    "getActiveJobs": _JOB_CONTROL,
    "getJobLogs": _ALL - {"WebServiceUser"},
    "getJobLogDetails": _ALL - {"WebServiceUser", "TrialSiteAdmin"},
    "getAssetJobLogs": _ALL - {"WebServiceUser"},
    "stopJob": _JOB_CONTROL,
    "pauseJob": _JOB_CONTROL,
    "resumeJob": _JOB_CONTROL,
    "deleteJob": _JOB_CONTROL,
    "executeJob": _JOB_CONTROL - {"IpsCompanyAdmin"},
    "checkLogin": _ALL,
    "getCompanyInfo": _ALL,
    "getUserInfo": _ALL,
}


def require_operation(user: User, operation: str) -> None:
    if user.role not in ALLOWED_ROLES.get(operation, frozenset()):
        raise NoOperationPermission(operation)


def require_company(user: User, company_id: int, handle: str) -> None:
    """A user only sees and touches the companies it belongs to."""
    if company_id not in user.company_ids:
        raise IllegalCompany(handle)
