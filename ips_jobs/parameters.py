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


#: The filter and paging parameters getJobLogDetails and getArchivedJobLogDetails share.
_DETAIL_PAGES = (
    ("logTypeArray", HONOURED, "a type IPS does not know matches nothing"),
    ("recordsPerPage", HONOURED, "more than 1000 is served as 1000"),
    ("resultsPage", HONOURED, ""),
    ("sortBy", HONOURED, ""),
    ("sortDirection", HONOURED, ""),
)
_CONTROLS = ("stopJob", "pauseJob", "resumeJob", "executeJob", "deleteJob")
_SIMULATED_RUN = "the run itself is simulated (see Job types)"
_BATCHES = ("deleteAssets", "emptyAssetsFromTrash", "restoreAssetsFromTrash")
_NO_IMPERSONATION = "there is no impersonation or group context; the caller's own access"
_ACCESS = (
    ("companyHandle", HONOURED, ""),
    ("accessUserHandle", IGNORED, _NO_IMPERSONATION),
    ("accessGroupHandle", IGNORED, _NO_IMPERSONATION),
)
_FIELDS = (
    ("responseFieldArray", HONOURED, "unknown paths are ignored"),
    ("excludeFieldArray", HONOURED, ""),
)
_TYPE_FILTERS = (
    ("assetTypeArray", HONOURED, "absent or empty: every type"),
    ("excludeAssetTypeArray", HONOURED, ""),
    ("assetSubTypeArray", HONOURED, ""),
    ("strictSubTypeCheck", HONOURED, ""),
)
_FOLDER_TYPES = (
    "assetTypeArray",
    IGNORED,
    "which folders it keeps is undocumented; every folder is listed",
)
_NO_TAGS = "ips-jobs keeps no tags: the tag conditions are not applied"
_NO_BYPRODUCTS = "ips-jobs makes no byproduct assets, so there are none to exclude"

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
        HONOURED,
        "true adds the uploadPost jobs waiting for their client's next post (WaitingClient)",
    ),
    Parameter("getJobLogs", "companyHandle", HONOURED, "absent: every company of the caller"),
    Parameter("getJobLogs", "userHandle", HONOURED),
    Parameter("getJobLogs", "sortBy", HONOURED, "absent: by start date"),
    Parameter("getJobLogs", "sortDirection", HONOURED, "absent: Descending"),
    Parameter("getJobLogs", "startDate", HONOURED, "runs started at or after it"),
    Parameter("getJobLogs", "endDate", HONOURED, "runs started at or before it"),
    Parameter("getJobLogs", "numRows", HONOURED, "absent: 1000"),
    *_same(
        ("getJobLogDetails",),
        ("companyHandle", HONOURED, ""),
        ("jobHandle", HONOURED, ""),
        ("originalName", HONOURED, ""),
        *_DETAIL_PAGES,
    ),
    Parameter("getAssetJobLogs", "companyHandle", HONOURED),
    Parameter("getAssetJobLogs", "assetHandle", HONOURED),
    *_same(
        ("getArchivedJobLogDetails",),
        ("companyHandle", HONOURED, ""),
        ("jobHandle", HONOURED, "required; answered from the live logs"),
        *_DETAIL_PAGES,
    ),
    Parameter("uploadPost", "companyHandle", HONOURED),
    Parameter("uploadPost", "jobName", HONOURED, "opens a job; the run is named after it"),
    Parameter("uploadPost", "jobHandle", HONOURED, "adds to a waiting job, from the same IP"),
    Parameter("uploadPost", "locale", HONOURED),
    Parameter("uploadPost", "description", HONOURED),
    Parameter("uploadPost", "destFolder", HONOURED, "made if missing"),
    Parameter("uploadPost", "fileName", HONOURED, "overrides each file part's filename"),
    Parameter("uploadPost", "endJob", HONOURED, "without it the job waits IPS_UPLOAD_WAIT s"),
    Parameter(
        "uploadPost",
        "uploadParams",
        PARTLY,
        "overwrite, readyForPublish, preservePublishState honoured; the options are kept "
        "and echoed (crop, Photoshop, PDF processing are not modelled)",
    ),
    Parameter("getUploadTaskStatus", "jobHandle", HONOURED),
    *_same(
        ("getAssetArchivedJobLogs",),
        ("companyHandle", HONOURED, ""),
        ("assetHandle", HONOURED, "answered from the live logs"),
    ),
    *_same(_CONTROLS, ("companyHandle", HONOURED, ""), ("jobHandle", HONOURED, "")),
    Parameter("checkLogin", "companyHandle", HONOURED),
    Parameter("checkLogin", "email", HONOURED),
    Parameter("checkLogin", "password", HONOURED),
    Parameter("getCompanyInfo", "companyHandle", HONOURED),
    Parameter("getCompanyInfo", "companyName", HONOURED),
    Parameter("getCompanyInfo", "imsOrgId", IGNORED, "there are no IMS organisations"),
    Parameter("getUserInfo", "userHandle", HONOURED),
    Parameter("getUserInfo", "email", HONOURED),
    # -- asset and folder operations, in wire/asset_operations.py's order
    *_same(("getAssetsByName",), *_ACCESS),
    Parameter(
        "getAssetsByName", "nameArray", HONOURED, "exact names; assets in the trash are not found"
    ),
    *_same(("getAssetsByName",), *_TYPE_FILTERS, *_FIELDS),
    *_same(("searchAssets",), *_ACCESS),
    Parameter(
        "searchAssets", "folder", HONOURED, "absent: the company root; a missing one finds nothing"
    ),
    Parameter("searchAssets", "includeSubfolders", HONOURED),
    Parameter("searchAssets", "publishState", HONOURED, "MarkedForPublish: readyForPublish true"),
    Parameter("searchAssets", "trashState", HONOURED, "absent: NotInTrash; Any: every state"),
    Parameter("searchAssets", "conditionMatchMode", HONOURED),
    Parameter("searchAssets", "keywordArray", HONOURED, "each keyword, equal ignoring case"),
    Parameter("searchAssets", "systemFieldMatchMode", HONOURED),
    Parameter(
        "searchAssets",
        "systemFieldConditionArray",
        PARTLY,
        "Sku (ignored by IPS since 4.0) and CreatedWith conditions are left out",
    ),
    Parameter("searchAssets", "tagMatchMode", IGNORED, _NO_TAGS),
    Parameter("searchAssets", "tagConditionArray", IGNORED, _NO_TAGS),
    Parameter("searchAssets", "metadataMatchMode", HONOURED),
    Parameter(
        "searchAssets",
        "metadataConditionArray",
        PARTLY,
        "the asset's own fields only (name, folder_path, type, file_name, description, "
        "comment, user_data, sku, created_at/by, modified_at/by); another field handle is 30001",
    ),
    *_same(("searchAssets",), *_TYPE_FILTERS),
    Parameter("searchAssets", "excludeByproducts", IGNORED, _NO_BYPRODUCTS),
    Parameter("searchAssets", "excludeByproductArray", IGNORED, _NO_BYPRODUCTS),
    Parameter("searchAssets", "projectHandle", IGNORED, "ips-jobs keeps no projects"),
    Parameter(
        "searchAssets",
        "recordsPerPage",
        HONOURED,
        "absent: 1000; more is served as 1000, or 10,000 with only the lean response fields",
    ),
    Parameter("searchAssets", "resultsPage", HONOURED, "0 and 1 are the first page"),
    Parameter("searchAssets", "sortBy", HONOURED, "absent: the order assets were created in"),
    Parameter("searchAssets", "sortDirection", HONOURED, "absent: Ascending"),
    *_same(("searchAssets",), *_FIELDS),
    *_same(("getAssets",), *_ACCESS),
    Parameter("getAssets", "assetHandleArray", HONOURED, "unknown handles are skipped"),
    *_same(("getAssets",), *_FIELDS),
    *_same(("getFolderTree",), *_ACCESS),
    Parameter("getFolderTree", "folderPath", HONOURED, "absent: the company root"),
    Parameter("getFolderTree", "depth", HONOURED, "negative: the whole tree"),
    *_same(("getFolderTree",), _FOLDER_TYPES, *_FIELDS),
    *_same(("getFolders",), *_ACCESS),
    Parameter("getFolders", "folderPath", HONOURED, "absent: the company root"),
    *_same(("getFolders",), _FOLDER_TYPES, *_FIELDS),
    Parameter("createFolder", "companyHandle", HONOURED),
    Parameter("createFolder", "folderPath", HONOURED, "missing parent folders are made too"),
    Parameter("renameFolder", "companyHandle", HONOURED),
    Parameter("renameFolder", "folderHandle", HONOURED),
    Parameter("renameFolder", "folderName", HONOURED),
    Parameter("moveFolder", "companyHandle", HONOURED),
    Parameter("moveFolder", "folderHandle", HONOURED),
    Parameter("moveFolder", "destFolderHandle", HONOURED),
    Parameter("deleteFolder", "companyHandle", HONOURED),
    Parameter("deleteFolder", "folderHandle", HONOURED),
    Parameter("deleteAsset", "companyHandle", HONOURED),
    Parameter("deleteAsset", "assetHandle", HONOURED),
    *_same(_BATCHES[:1], ("companyHandle", HONOURED, ""), ("assetHandleArray", HONOURED, "")),
    Parameter("renameAsset", "companyHandle", HONOURED),
    Parameter("renameAsset", "assetHandle", HONOURED),
    Parameter("renameAsset", "newName", HONOURED),
    Parameter(
        "renameAsset",
        "validateName",
        IGNORED,
        "names are always unique among the assets not in the trash, whatever it says",
    ),
    Parameter("moveAsset", "companyHandle", HONOURED),
    Parameter("moveAsset", "assetHandle", HONOURED),
    Parameter("moveAsset", "folderHandle", HONOURED),
    Parameter("moveAssets", "companyHandle", HONOURED),
    Parameter("moveAssets", "assetMoveArray", HONOURED),
    *_same(_BATCHES[1:], ("companyHandle", HONOURED, ""), ("assetHandleArray", HONOURED, "")),
    Parameter("searchAssetsByMetadata", "companyHandle", HONOURED),
    Parameter(
        "searchAssetsByMetadata",
        "filters",
        PARTLY,
        "as searchAssets' parameters of those names (includeSubfolders absent: true); "
        "projectHandle and excludeByproducts are not applied",
    ),
    Parameter(
        "searchAssetsByMetadata",
        "metadataConditionArray",
        PARTLY,
        "the asset's own fields only, as for searchAssets; another field handle is 30001",
    ),
    Parameter("searchAssetsByMetadata", "metadataConditionMatchMode", HONOURED),
    Parameter(
        "searchAssetsByMetadata",
        "responseMetadataArray",
        IGNORED,
        "ips-jobs keeps no metadata fields: metadataArray is always empty",
    ),
    Parameter("searchAssetsByMetadata", "recordsPerPage", HONOURED, "absent: 1000"),
    Parameter("searchAssetsByMetadata", "resultsPage", HONOURED, "0 and 1 are the first page"),
    Parameter("searchAssetsByMetadata", "sortBy", HONOURED),
    Parameter("searchAssetsByMetadata", "sortDirection", HONOURED, "absent: Ascending"),
    Parameter("searchAssetsByMetadata", "haystackSearch", IGNORED, "there is no similarity search"),
    Parameter("getAssociatedAssets", "companyHandle", HONOURED),
    Parameter(
        "getAssociatedAssets",
        "assetHandle",
        HONOURED,
        "no relations are kept: every array is empty",
    ),
    *_same(("getAssociatedAssets",), *_FIELDS),
    *_same(
        ("setAssetPublishState",),
        ("companyHandle", HONOURED, ""),
        ("assetHandle", HONOURED, ""),
        ("publishState", HONOURED, "sets Asset/readyForPublish"),
        ("contextHandleArray", IGNORED, "readiness is one flag per asset, for every context"),
    ),
    *_same(
        ("setAssetsPublishState",),
        ("companyHandle", HONOURED, ""),
        ("publishStateUpdateArray", HONOURED, ""),
    ),
    *_same(
        ("getAssetPublishHistory",),
        ("companyHandle", HONOURED, ""),
        ("assetHandle", HONOURED, "the last publish per server and context, the newest first"),
    ),
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
