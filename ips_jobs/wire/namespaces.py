"""The XML namespaces of the IPS API: which payload versions we accept and how they are named."""

from typing import Final

#: The WSDL target namespace: operation QNames live here, never on the wire.
WSDL_NS: Final = "http://www.scene7.com/IpsApi"
#: The unversioned namespace: authHeader and the three faults for every version, and the
#: payload namespace of the legacy (pre-4.0) `IpsApi.wsdl`.
COMMON_NS: Final = "http://www.scene7.com/IpsApi/xsd"
#: The newest schema: every payload namespace is read and written with its shapes.
CANONICAL_VERSION: Final = "2022-11-01-beta"

#: Every dated payload version the emulator serves, oldest first.
VERSIONS: Final = (
    "2008-01-15",
    "2008-09-10",
    "2009-07-31",
    "2010-01-31",
    "2011-11-04",
    "2011-11-04-beta",
    "2012-02-14",
    "2012-07-31",
    "2012-07-31-beta",
    "2013-02-15",
    "2013-08-29-beta",
    "2014-04-03",
    "2016-01-14-beta",
    "2017-10-29-beta",
    "2021-01-11-beta",
    "2021-04-26-beta",
    "2022-11-01-beta",
    "2023-01-15",
)

SOAP11_NS: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS: Final = "http://www.w3.org/2003/05/soap-envelope"


def payload_ns(version: str | None) -> str:
    """The payload namespace of a version; None is the legacy unversioned namespace."""
    return COMMON_NS if version is None else f"{COMMON_NS}/{version}"


CANONICAL_NS: Final = payload_ns(CANONICAL_VERSION)
#: Payload namespace -> version (None for the legacy namespace).
VERSION_BY_NS: Final[dict[str, str | None]] = {payload_ns(v): v for v in (None, *VERSIONS)}

#: The operations only some versions have, with those versions: the undocumented archived-log
#: operations of the 2021 and 2022 beta schemas (fact sheet §3, ips-versions.md §5). A stub of
#: another version cannot call them, and IPS would answer them "Unknown operation" there.
#: uploadPost is a SOAP operation from the 2016-01-14-beta stubs on, getUploadTaskStatus from
#: 2017-10-29-beta on (ips-versions.md §5); the UploadFile servlet takes an uploadPostParam in
#: any namespace.
_ARCHIVE_VERSIONS: Final = ("2021-01-11-beta", "2021-04-26-beta", "2022-11-01-beta")
_UPLOAD_STATUS_VERSIONS: Final = (*VERSIONS[VERSIONS.index("2017-10-29-beta") :],)
OPERATION_VERSIONS: Final[dict[str, tuple[str, ...]]] = {
    # every dated version: the legacy WSDL has no getAssetJobLogs (ips-versions.md §5)
    "getAssetJobLogs": VERSIONS,
    "getArchivedJobLogDetails": _ARCHIVE_VERSIONS,
    "getAssetArchivedJobLogs": _ARCHIVE_VERSIONS,
    "uploadPost": (*VERSIONS[VERSIONS.index("2016-01-14-beta") :],),
    "getUploadTaskStatus": _UPLOAD_STATUS_VERSIONS,
}


def has_operation(namespace: str, operation: str) -> bool:
    """Whether the payload namespace's version has the operation: the WSDL generator and the
    dispatcher share this, so a namespace answers exactly what its WSDL declares."""
    versions = OPERATION_VERSIONS.get(operation)
    return versions is None or VERSION_BY_NS.get(namespace) in versions
