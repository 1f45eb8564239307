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
#: The roles the asset and folder write operations list (ips-asset-api.md §3).
_ASSET_WRITE: Final = _JOB_CONTROL - {"TrialSiteAdmin", "TrialSiteUser"}

_LOG_DETAILS: Final = _ALL - {"WebServiceUser", "TrialSiteAdmin"}
_ASSET_LOGS: Final = _ALL - {"WebServiceUser"}

#: Exactly as the IPS documentation lists them, inconsistencies included (submitJob and
#: executeJob leave out IpsCompanyAdmin; no job or asset operation lists WebServiceUser;
#: getAssetsByName leaves out ImagePortalUser, getFolderTree also ImagePortalAdmin;
#: setAssetPublishState leaves out ImagePortalAdmin, which its batch form lists).
ALLOWED_ROLES: Final[dict[str, frozenset[str]]] = {
    "submitJob": _JOB_CONTROL - {"IpsCompanyAdmin"},
    "getScheduledJobs": _JOB_CONTROL,
    "getActiveJobs": _JOB_CONTROL,
    "getJobLogs": _ALL - {"WebServiceUser"},
    "getJobLogDetails": _LOG_DETAILS,
    "getAssetJobLogs": _ASSET_LOGS,
    # Undocumented (beta only): the roles of the live operations they mirror.
    "getArchivedJobLogDetails": _LOG_DETAILS,
    "getAssetArchivedJobLogs": _ASSET_LOGS,
    # Undocumented: uploadPost is a submitJob by another road; its status is a job query.
    "uploadPost": _JOB_CONTROL - {"IpsCompanyAdmin"},
    "getUploadTaskStatus": _JOB_CONTROL,
    "stopJob": _JOB_CONTROL,
    "pauseJob": _JOB_CONTROL,
    "resumeJob": _JOB_CONTROL,
    "deleteJob": _JOB_CONTROL,
    "executeJob": _JOB_CONTROL - {"IpsCompanyAdmin"},
    "checkLogin": _ALL,
    "getCompanyInfo": _ALL,
    "getUserInfo": _ALL,
    "getAssetsByName": _ALL - {"WebServiceUser", "ImagePortalUser"},
    "searchAssets": _ALL - {"WebServiceUser"},
    "getFolderTree": _ALL - {"WebServiceUser", "ImagePortalAdmin", "ImagePortalUser"},
    "getFolders": _ALL - {"WebServiceUser"},
    "getAssets": _ALL - {"WebServiceUser"},
    "createFolder": _ASSET_WRITE,
    "deleteFolder": _ASSET_WRITE,
    "renameFolder": _ASSET_WRITE,
    "moveFolder": _ASSET_WRITE,
    "deleteAsset": _ASSET_WRITE,
    "deleteAssets": _ASSET_WRITE,
    "renameAsset": _ASSET_WRITE,
    "moveAsset": _ASSET_WRITE,
    "moveAssets": _ASSET_WRITE,
    "emptyAssetsFromTrash": _ASSET_WRITE,
    "restoreAssetsFromTrash": _ASSET_WRITE,
    "getAssociatedAssets": _ALL - {"WebServiceUser"},
    "searchAssetsByMetadata": _ALL - {"WebServiceUser", "TrialSiteAdmin", "TrialSiteUser"},
    "setAssetPublishState": _ASSET_WRITE - {"ImagePortalAdmin"},
    "setAssetsPublishState": _ASSET_WRITE,
    "getAssetPublishHistory": _ALL - {"WebServiceUser"},
}


def require_operation(user: User, operation: str) -> None:
    if user.role not in ALLOWED_ROLES.get(operation, frozenset()):
        raise NoOperationPermission(operation)


def require_company(user: User, company_id: int, handle: str) -> None:
    """A user only sees and touches the companies it belongs to."""
    if company_id not in user.company_ids:
        raise IllegalCompany(handle)
