"""The IPS string constants a request is checked against (the schema itself types them all
as plain xsd:string)."""

from typing import Final

PUBLISH_TYPES: Final = frozenset({"Full", "FullWithSearch", "Incremental"})
EMAIL_SETTINGS: Final = frozenset({"All", "Error", "ErrorAndWarning", "JobCompletion", "None"})
EXPORT_FORMATS: Final = frozenset({"orig", "convert"})
SORT_DIRECTIONS: Final = frozenset({"Ascending", "Descending"})
JOB_LOG_SORT_FIELDS: Final = frozenset(
    {
        "JobName",
        "LogType",
        "StartDate",
        "CompanyName",
        "UserId",
        "Email",
        "FileErrorCount",
        "FileWarningCount",
        "FileSuccessCount",
    }
)
DETAIL_SORT_FIELDS: Final = frozenset({"Date", "LogType"})
MAX_RECORDS_PER_PAGE: Final = 1000
