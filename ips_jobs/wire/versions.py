"""What each API version's types hold: the canonical schema (2022-11-01-beta) minus what a
version lacks, and the types an old version shaped differently. The table transcribes the
project's versions fact sheet (`ips-versions.md` §2, and `ips-asset-api.md` §9 for assets);
every answer is written, and every per-version WSDL declares its types, from it, so that a
strict stub generated from a version's WSDL (Axis2 ADB, zeep) reads every answer.

A cell of the sheet is E or D (the version has the element: emit it), or -, x or ? (it does not,
or no source says so: never emit it). Each element the canonical schema has and some version
lacks is listed with the first column that has it (the marks never go back to absent).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Final

from lxml import etree

from ips_jobs.wire.namespaces import VERSION_BY_NS, VERSIONS

XSD: Final = "http://www.w3.org/2001/XMLSchema"

#: The sheet's columns, oldest first: L the unversioned namespace, 6x the 6.0 to 6.6
#: namespaces (2012-02-14 to 2013-08-29-beta), 11 the 6.0 development namespaces 2011-11-04
#: and 2011-11-04-beta (6x but for exportJob, which the sheet marks unknown there), 14
#: 2014-04-03 (6.x but for what its one example shows).
COLUMNS: Final = ("L", "08a", "08b", "09", "10", "11", "6x", "14", "16", "17", "21", "22")
#: Column 11 ranks with 6x: it has what 6x has but for the types listed here.
_RANK: Final = {col: COLUMNS.index("6x") if col == "11" else COLUMNS.index(col) for col in COLUMNS}
_LACKS_TYPES: Final[dict[str, frozenset[str]]] = {"11": frozenset({"ExportJob"})}
#: The column each version is answered with: 2021-01-11-beta (no public schema) with 17, as
#: every element 21 adds is optional; 2023-01-15 with 22, the newest known.
_COLUMN_OF: Final[dict[str | None, str]] = {
    None: "L",
    "2008-01-15": "08a",
    "2008-09-10": "08b",
    "2009-07-31": "09",
    "2010-01-31": "10",
    "2011-11-04": "11",
    "2011-11-04-beta": "11",
    **dict.fromkeys(VERSIONS[VERSIONS.index("2012-02-14") : VERSIONS.index("2014-04-03")], "6x"),
    "2014-04-03": "14",
    "2016-01-14-beta": "16",
    "2017-10-29-beta": "17",
    "2021-01-11-beta": "17",
    "2021-04-26-beta": "21",
    "2022-11-01-beta": "22",
    "2023-01-15": "22",
}
assert set(_COLUMN_OF) == {None, *VERSIONS}

#: Whole types some versions lack: the first column that has each (§2.0, §2.1, §2.4-§2.7).
#: An element of such a type is not written where the type is missing.
TYPE_SINCE: Final[dict[str, str]] = {
    "TaskProgress": "08a",
    "TaskProgressArray": "08a",
    "TaskItemProgress": "08a",
    "TaskItemProgressArray": "08a",
    "AssetJobLog": "08a",
    "AssetJobLogArray": "08a",
    "JobLogDetailAux": "10",
    "JobLogDetailAuxArray": "10",
    "OptimizeImagesJob": "08a",
    "ReprocessAssetsJob": "08a",
    "PDFOptions": "08a",
    "IllustratorOptions": "08a",
    "AutoSetCreationOptions": "09",
    "InDesignOptions": "10",
    "MediaOptions": "10",
    "PhotoshopLayerOptions": "6x",
    "ExportJob": "6x",
    "UploadPostJob": "14",
    "MetadataPublishJob": "16",
    "RipPdfsJob": "16",
    "CreateVideoSitemapJob": "16",
    "AutomatedSetGenerationJob": "16",
    "KnockoutBackgroundOptions": "16",
    "UnsharpMaskOptions": "16",
    "UnCompressOptions": "16",
    "ThumbnailOptions": "16",
    "AutoSmartCropOptions": "17",
    "AutoSmartCropOptionsArray": "17",
    "CssOptions": "17",
    "VideoEncoding": "17",
    "VideoEncodingArray": "17",
    "AvsEncoding": "17",
    "AvsEncodingArray": "17",
    "MetadataOptions": "21",
    "VideoSmartCropAspectRatio": "21",
    "VideoSmartCropArray": "21",
    "AudioCaptionsMetadata": "22",
}

#: The upload/reprocess option block (§2.6), shared by UploadUrlsJob, UploadDirectoryJob,
#: UploadPostJob, ReprocessAssetsJob and RipPdfsJob: the first column with each element.
_OPTION_BLOCK: Final[dict[str, str]] = {
    "numUrls": "6x",
    "assetHandleArray": "08a",
    "pdfHandleArray": "16",
    "preservePublishState": "08b",
    "synchronizationComplete": "17",
    "preserveCrop": "08b",
    "overwriteAVS": "21",
    "knockoutBackgroundOptions": "16",
    "autoSmartCropOptionsArray": "17",
    "pdfOptions": "08a",
    "illustratorOptions": "08a",
    "cssOptions": "17",
    "autoSetCreationOptions": "09",
    "mediaOptions": "10",
    "inDesignOptions": "10",
    "xmpKeywords": "16",
    "unsharpMaskOptions": "16",
    "unCompressOptions": "16",
    "excludeMasterVideoFromAVS": "16",
    **dict.fromkeys(
        (
            "metadataOptions",
            "jwtToken",
            "imsOrg",
            "apikey",
            "ignoreSmartCropGeneration",
            "preserveSmartCrop",
        ),
        "21",
    ),
    "sourceVideoAssetHandle": "22",
    "audioCaptionsMetadata": "22",
}
#: The types sharing the option block.
OPTION_BLOCK_TYPES: Final = (
    "UploadUrlsJob",
    "UploadDirectoryJob",
    "UploadPostJob",
    "ReprocessAssetsJob",
    "RipPdfsJob",
)
#: ScheduledJob, and ActiveJob with its own elements below (§2.2, with the §2.9 decisions
#: for taskProgressArray and triggerTime).
_JOB_LISTS: Final[dict[str, str]] = {
    "locale": "08a",
    "description": "08a",
    "metadataPublishJob": "16",
    "optimizeImagesJob": "08a",
    "ripPdfsJob": "16",
    "reprocessAssetsJob": "08a",
    "createVideoSitemapJob": "16",
    "exportJob": "6x",
    "automatedSetGenerationJob": "16",
}
#: Type -> element -> the first column that has it (elements not listed: every column that
#: has the type).
SINCE: Final[dict[str, dict[str, str]]] = {
    "ActiveJob": {
        **_JOB_LISTS,
        "triggerTime": "16",
        "taskProgressArray": "08a",
        "uploadPostJob": "14",
    },
    "ScheduledJob": _JOB_LISTS,
    "JobLog": {
        "originalJobName": "08a",
        "jobSubType": "08a",
        "description": "08a",
        "transferSuccessCount": "09",
        "transferErrorCount": "09",
        "transferWarningCount": "09",
        "detailTotalRows": "16",
    },
    "JobLogDetail": {"dateCreated": "16", "assetHandle": "08a", "auxArray": "10"},
    "JobLogDetailAux": {"dateCreated": "16"},
    "AssetJobLog": {"auxArray": "10"},
    "TaskProgress": {"taskState": "6x"},
    "ImageServingPublishJob": {"contextHandle": "16"},
    "ImageRenderingPublishJob": {"contextHandle": "6x"},
    "VideoPublishJob": {"contextHandle": "6x"},
    "AutomatedSetGenerationJob": {"synchronizationComplete": "17"},
    **dict.fromkeys(OPTION_BLOCK_TYPES, _OPTION_BLOCK),
    "ReprocessAssetsJob": {**_OPTION_BLOCK, "readyForPublish": "08b"},
    "PhotoshopOptions": {"layerOptions": "6x"},
    "PDFOptions": {"extractLinks": "10"},
    "AutoSetCreationOptions": {"autoSetsArray": "6x"},
    "MediaOptions": {
        "videoEncodingPresetsArray": "16",
        "generateThumbnail": "16",
        "thumbnailOptions": "16",
        "videoEncodingArray": "17",
        "avsEncodingArray": "17",
        "videoSmartCropArray": "21",
        "videoSmartCropSampleRate": "21",
        "cmafConformance": "22",
    },
    "Company": {"imsOrgId": "16"},
    "User": {"imsUserId": "16", "isIpsAdmin": "16", "defaultRole": "21", "role": "21"},
    "getCompanyInfoParam": {"imsOrgId": "16"},
    "submitJobParam": {"locale": "08a", "description": "08a"},
    "getActiveJobsParam": {"includeWaitingJobs": "16"},
    "getJobLogDetailsParam": dict.fromkeys(
        ("logTypeArray", "recordsPerPage", "resultsPage", "sortBy", "sortDirection"), "16"
    ),
    # ips-asset-api.md §9: the legacy Asset list is exact; what 4.2 (trashState, maskInfo,
    # rtfInfo), 4.4 (subType, assetSetInfo) and 6.0 (fileName) added is dated; the rest is
    # first seen in 2016-01-14-beta, threeDInfo in 2021-04-26-beta.
    "Asset": {
        "subType": "09",
        "fileName": "6x",
        "trashState": "08b",
        "maskInfo": "08b",
        "rtfInfo": "08b",
        "assetSetInfo": "09",
        **dict.fromkeys(
            (
                "layerViewInfo",
                "viewerPresetInfo",
                "fxgInfo",
                "pdfSettingsInfo",
                "postScriptInfo",
                "illustratorInfo",
                "wordInfo",
                "excelInfo",
                "powerPointInfo",
                "premiereExpressRemixInfo",
                "cuePointInfo",
                "audioInfo",
                "masterVideoInfo",
                "animatedGifInfo",
                "swcInfo",
                "cssInfo",
                "javascriptInfo",
                "videoCaptionInfo",
            ),
            "16",
        ),
        "threeDInfo": "21",
    },
    # "legacy VideoInfo lacks fileSize [PHP]; fileSize added 4.0 to the info types" (§6.2)
    "VideoInfo": {"fileSize": "08a"},
    "Folder": {"lastModified": "10", "childLastModified": "10", "permissionSetHandle": "6x"},
    "getAssociatedAssetsReturn": {"subAssetArray": "17"},
    "getFoldersReturn": {"permissionSetArray": "16"},
    "getFolderTreeReturn": {"permissionSetArray": "16"},
}

#: Types an old version shaped differently (§2.7, §2.8): column -> type -> its sequence
#: (name, XSD type, minOccurs). User: `role` until 6.0 renamed it `defaultRole`; neither
#: from 2016-01-14-beta to 2017-10-29-beta (the table above); the sheet gives no minOccurs
#: for the old User and says to write all seven. PostScriptOptions: the legacy one requires
#: resolution, colorspace and extractSearchWords; 4.0 added process and alpha (optional).
_OLD_USER: Final = (
    ("userHandle", "xsd:string", 1),
    ("firstName", "xsd:string", 1),
    ("lastName", "xsd:string", 1),
    ("email", "xsd:string", 1),
    ("role", "xsd:string", 1),
    ("isValid", "xsd:boolean", 1),
    ("passwordExpires", "xsd:dateTime", 1),
)
_OLD_PHOTOSHOP: Final = (
    ("maintainLayers", "xsd:boolean", 1),
    ("layerNaming", "xsd:string", 1),
    ("anchor", "xsd:string", 1),
)
_LEGACY_POSTSCRIPT: Final = (
    ("resolution", "xsd:double", 1),
    ("colorspace", "xsd:string", 1),
    ("extractSearchWords", "xsd:boolean", 1),
)
_OLD_POSTSCRIPT: Final = (
    ("process", "xsd:string", 0),
    ("resolution", "xsd:double", 1),
    ("colorspace", "xsd:string", 1),
    ("alpha", "xsd:boolean", 0),
    ("extractSearchWords", "xsd:boolean", 1),
)
_SIX_USER: Final = tuple(
    ("defaultRole", kind, least) if name == "role" else (name, kind, least)
    for name, kind, least in _OLD_USER
)
SHAPES: Final[dict[str, dict[str, tuple[tuple[str, str, int], ...]]]] = {
    "L": {
        "User": _OLD_USER,
        "PhotoshopOptions": _OLD_PHOTOSHOP,
        "PostScriptOptions": _LEGACY_POSTSCRIPT,
    },
    **{
        col: {
            "User": _OLD_USER,
            "PhotoshopOptions": _OLD_PHOTOSHOP,
            "PostScriptOptions": _OLD_POSTSCRIPT,
        }
        for col in ("08a", "08b", "09")
    },
    "10": {"User": _OLD_USER},
    "11": {"User": _SIX_USER},
    "6x": {"User": _SIX_USER},
    "14": {"User": _SIX_USER},
}


#: Elements a version had that the canonical schema lacks, written where its types declare
#: them: column -> type -> (name, XSD type, the element it follows). uploadDirectoryJob's
#: videoEncodingPreset, which 4.2 added with preservePublishState and preserveCrop (§2.6,
#: CL 4.2; its place is not documented: after those two) and 2016-01-14-beta no longer has.
EXTRA: Final[dict[str, dict[str, tuple[tuple[str, str, str], ...]]]] = {
    "08b": {"UploadDirectoryJob": (("videoEncodingPreset", "xsd:string", "preserveCrop"),)},
}


#: The columns whose requests are checked against their own types: those the sheet knows
#: exactly (§1), as IPS's Axis2 parser refuses an element its version lacks; a derived or
#: unknown version accepts every newer element (the sheet's §3: never refuse what a client
#: of a neighbouring version could send). 2022 lacks nothing.
EXACT_REQUEST_COLUMNS: Final = frozenset({"L", "16", "17", "21"})


def column(version: str | None) -> str:
    return _COLUMN_OF[version]


def shapes(version: str | None) -> Mapping[str, tuple[tuple[str, str, int], ...]]:
    """The types the version shaped differently (SHAPES), by name."""
    return SHAPES.get(_COLUMN_OF[version], {})


def request_column(namespace: str) -> str:
    """The column a namespace's requests are read with: 2021-01-11-beta, answered as
    2017-10-29-beta, takes what 2021-04-26-beta has (§1)."""
    version = VERSION_BY_NS[namespace]
    return "21" if version == "2021-01-11-beta" else _COLUMN_OF[version]


def column_of_namespace(namespace: str) -> str:
    return _COLUMN_OF[VERSION_BY_NS[namespace]]


def _has(since: str, col: str) -> bool:
    return _RANK[col] >= _RANK[since]


@functools.cache
def absent_types(col: str) -> frozenset[str]:
    """The named types a column lacks."""
    gone = frozenset(name for name, since in TYPE_SINCE.items() if not _has(since, col))
    return gone | _LACKS_TYPES.get(col, frozenset())


@functools.cache
def lacking(col: str) -> Mapping[str, frozenset[str]]:
    """Type -> the elements of the canonical type the column lacks (those whose own type it
    lacks are found by derive(), which sees the types)."""
    return {
        type_name: frozenset(e for e, since in elements.items() if not _has(since, col))
        for type_name, elements in SINCE.items()
    }


def declares(namespace: str, type_name: str, element: str) -> bool:
    """Whether the namespace's version has the element in the type."""
    return element not in lacking(column_of_namespace(namespace)).get(type_name, frozenset())


def derive(canonical: etree._Element, col: str) -> etree._Element:
    """The schema of a column from the canonical one (any target namespace; type references
    use the `types:` prefix): the types and elements it lacks removed, the old shapes put in."""
    doc = copy.deepcopy(canonical)
    gone = absent_types(col)
    cut = lacking(col)
    for declaration in list(doc):
        if not isinstance(declaration.tag, str):
            continue
        name = declaration.get("name", "")
        if declaration.tag == f"{{{XSD}}}complexType" and name in gone:
            doc.remove(declaration)
            continue
        shape = SHAPES.get(col, {}).get(name)
        if declaration.tag == f"{{{XSD}}}complexType" and shape is not None:
            _reshape(declaration, shape)
            continue
        for extra, kind, after in EXTRA.get(col, {}).get(name, ()):
            before = declaration.find(f"{{{XSD}}}sequence/{{{XSD}}}element[@name='{after}']")
            assert before is not None, f"{name} has no {after}"
            before.addnext(etree.Element(f"{{{XSD}}}element", name=extra, type=kind, minOccurs="0"))
        # the members of a named type, or of a global element's anonymous type
        lacks = cut.get(name, frozenset())
        for element in list(declaration.iter(f"{{{XSD}}}element")):
            kind = element.get("type", "").partition(":")[2]
            if element is not declaration and (element.get("name") in lacks or kind in gone):
                element.getparent().remove(element)  # type: ignore[union-attr]
    return doc


def _reshape(declaration: etree._Element, shape: tuple[tuple[str, str, int], ...]) -> None:
    sequence = declaration.find(f"{{{XSD}}}sequence")
    assert sequence is not None
    sequence.clear()
    for name, kind, least in shape:
        element = etree.SubElement(sequence, f"{{{XSD}}}element", name=name, type=kind)
        if least == 0:
            element.set("minOccurs", "0")
