"""Older shapes some payload namespaces had and the canonical schema lacks, so that clients
built from those versions' real WSDLs are not refused (30003) for sending them:

* `photoshopOptions{maintainLayers, layerNaming, anchor}` (all three required, in that order),
  the PhotoshopOptions of the legacy namespace, 2008-01-15, 2008-09-10 and 2009-07-31; 4.5
  (2010-01-31) replaced it with `{process, layerOptions}`.
* `uploadDirectoryJob/videoEncodingPreset` (4.2, 2008-09-10; gone in 2016-01-14-beta), whose type
  and position no source gives: read as a string wherever it is in the job.
* `renameAssetParam/renameFiles` (boolean; the legacy namespace to 2010-01-31, removed in 6.0):
  accepted and dropped.

They are stored as sent, in the job's detail. Answers are written with each version's own
types (wire/versions.py): an old namespace gets the old PhotoshopOptions (converted from the
newer one when a job sent that), every other namespace the newer equivalent; the old ones
get PostScriptOptions only with its three required children; videoEncodingPreset is written
back in 2008-09-10 alone, where that version's types have it. Requests are validated against
the canonical schema once the old elements are cut out (`take`), the old elements against
`SCHEMA` here.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from spyne.model.complex import ComplexModelBase

from ips_jobs.errors import InvalidParameter, InvalidRequestXml
from ips_jobs.wire import schema, versions
from ips_jobs.wire.namespaces import CANONICAL_NS, VERSIONS, payload_ns


def _shaped(type_name: str) -> frozenset[str]:
    """The namespaces whose version has its own shape of the type (versions.SHAPES)."""
    return frozenset(payload_ns(v) for v in (None, *VERSIONS) if type_name in versions.shapes(v))


#: Namespaces whose PhotoshopOptions is `{maintainLayers, layerNaming, anchor}` (ips-versions
#: §2.7 and §3: exact for the legacy namespace, derived for 4.0 to 4.4).
OLD_PHOTOSHOP_NS = _shaped("PhotoshopOptions")
#: Namespaces whose PostScriptOptions requires resolution, colorspace, extractSearchWords.
OLD_POSTSCRIPT_NS = _shaped("PostScriptOptions")
#: Namespaces that take `uploadDirectoryJob/videoEncodingPreset`: known in 2008-09-10, unknown
#: (so accepted) from 2008-01-15 to 2014-04-03; absent from the legacy namespace and from
#: 2016-01-14-beta on (ips-versions §2.6 and §3).
VIDEO_PRESET_NS = frozenset(payload_ns(v) for v in VERSIONS[: VERSIONS.index("2016-01-14-beta")])

#: The Photoshop processing flags 4.0 added (`createTemplate`, `extendLayers`, `extractText`;
#: their parent and place are not documented): taken in the old photoshopOptions or directly
#: in the job, in 2008-01-15 to 2009-07-31 (ips-versions §3), as layerOptions' flags.
PHOTOSHOP_FLAGS = ("createTemplate", "extendLayers", "extractText")
PHOTOSHOP_FLAG_NS = OLD_PHOTOSHOP_NS - {payload_ns(None)}
#: uploadDirectoryJob's xmpTemplateId and xmpTemplateOverride, in a 4.5 beta WSDL only (which
#: namespace is not documented; the betas up to 2013-08-29-beta): taken and ignored.
XMP_TEMPLATE = ("xmpTemplateId", "xmpTemplateOverride")
XMP_TEMPLATE_NS = frozenset(
    payload_ns(v) for v in VERSIONS[VERSIONS.index("2008-01-15") : VERSIONS.index("2014-04-03")]
)
OLD_PHOTOSHOP_NAMES = ("maintainLayers", "layerNaming", "anchor")
VIDEO_PRESET = "videoEncodingPreset"
RENAME_FILES = "renameFiles"


def _before(version: str) -> frozenset[str]:
    """The payload namespaces older than `version`, the legacy one included."""
    return frozenset(payload_ns(v) for v in (None, *VERSIONS[: VERSIONS.index(version)]))


#: Namespaces whose renameAssetParam has renameFiles (ips-asset-api.md §5.10, §9).
RENAME_FILES_NS = _before("2011-11-04")

SCHEMA = f"""<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:types="{CANONICAL_NS}" targetNamespace="{CANONICAL_NS}" elementFormDefault="qualified">
  <xsd:complexType name="OldPhotoshopOptions">
    <xsd:sequence>
      <xsd:element name="maintainLayers" type="xsd:boolean"/>
      <xsd:element name="layerNaming" type="xsd:string"/>
      <xsd:element name="anchor" type="xsd:string"/>
    </xsd:sequence>
  </xsd:complexType>
  <xsd:element name="photoshopOptions" type="types:OldPhotoshopOptions"/>
  <xsd:element name="{VIDEO_PRESET}" type="xsd:string"/>
</xsd:schema>""".encode()

_local = threading.local()


def validator() -> etree.XMLSchema:
    """One per thread, as the canonical one (a validator's error log is its own)."""
    found = getattr(_local, "validator", None)
    if found is None:
        found = _local.validator = schema.compile_schema(SCHEMA)
    return found


@functools.cache
def photoshop_type() -> type[ComplexModelBase]:
    return schema.fragment_type(etree.fromstring(SCHEMA), "OldPhotoshopOptions")


@dataclass(frozen=True)
class Taken:
    """An old-shaped element cut out of a submitJobParam, and which job it was in."""

    kind: str
    name: str
    element: etree._Element


def take(operation: str, param: etree._Element, namespace: str) -> list[Taken]:
    """Cuts the old-shaped elements out of a canonical submitJobParam, in place: an old
    photoshopOptions leaves an empty `<photoshopOptions/>` behind (so its position is still
    checked), a videoEncodingPreset leaves nothing, and renameFiles is dropped."""
    if operation == "renameAsset" and namespace in RENAME_FILES_NS:
        _drop_rename_files(param)
        return []
    if operation != "submitJob" or not (
        namespace in OLD_PHOTOSHOP_NS or namespace in VIDEO_PRESET_NS
    ):
        return []
    taken: list[Taken] = []
    for job in list(param.iterchildren(f"{{{CANONICAL_NS}}}*")):
        kind = etree.QName(job).localname
        if namespace in PHOTOSHOP_FLAG_NS:
            taken.extend(_flags(kind, job))
        if kind == "uploadDirectoryJob" and namespace in XMP_TEMPLATE_NS:
            for name in XMP_TEMPLATE:
                for node in list(job.iterchildren(f"{{{CANONICAL_NS}}}{name}")):
                    _cut(node)
        if namespace in OLD_PHOTOSHOP_NS:
            for node in list(job.iterchildren(f"{{{CANONICAL_NS}}}photoshopOptions")):
                if namespace in PHOTOSHOP_FLAG_NS:
                    taken.extend(_flags(kind, node))
                names = [_name(child) for child in node if isinstance(child.tag, str)]
                if any(name in OLD_PHOTOSHOP_NAMES for name in names):
                    other = next((n for n in names if n not in OLD_PHOTOSHOP_NAMES), None)
                    if other is not None:
                        raise InvalidRequestXml(
                            f"Unknown element '{other}' in a photoshopOptions of the old shape "
                            "(maintainLayers, layerNaming, anchor)"
                        )
                    placeholder = etree.Element(node.tag)
                    placeholder.tail, node.tail = node.tail, None
                    job.replace(node, placeholder)
                    taken.append(Taken(kind, "photoshopOptions", node))
        if kind == "uploadDirectoryJob" and namespace in VIDEO_PRESET_NS:
            presets = list(job.iterchildren(f"{{{CANONICAL_NS}}}{VIDEO_PRESET}"))
            if len(presets) > 1:
                raise InvalidRequestXml(f"Element '{VIDEO_PRESET}' is repeated")
            for node in presets:
                _cut(node)
                taken.append(Taken(kind, VIDEO_PRESET, node))
    return taken


def _flags(kind: str, parent: etree._Element) -> list[Taken]:
    """Cuts the Photoshop flags out of a job or its old photoshopOptions."""
    found = []
    for name in PHOTOSHOP_FLAGS:
        for node in list(parent.iterchildren(f"{{{CANONICAL_NS}}}{name}")):
            _cut(node)
            found.append(Taken(kind, name, node))
    return found


def _drop_rename_files(param: etree._Element) -> None:
    """renameFiles, which 6.0 removed, is read as a boolean and dropped: a file is always
    renamed with its asset."""
    for node in list(param.iterchildren(f"{{{CANONICAL_NS}}}{RENAME_FILES}")):
        flag(node, RENAME_FILES)
        _cut(node)


def flag(node: etree._Element, field: str) -> bool:
    """The xsd:boolean an old element without a schema type holds; 30001 if it holds none."""
    text = (node.text or "").strip()
    if text not in ("true", "false", "1", "0"):
        raise InvalidParameter(field, f"'{node.text}' is not a valid boolean")
    return text in ("true", "1")


def put(data: dict[str, Any], taken: Taken, value: Any) -> None:
    """Stores an old element's value in the job's detail, as sent; a Photoshop flag goes
    into the job's photoshopOptions (beside the old shape's members, or in layerOptions)."""
    job = data[taken.kind]
    if taken.name in PHOTOSHOP_FLAGS:
        options = job.setdefault("photoshopOptions", {})
        if "maintainLayers" in options:
            options[taken.name] = value
        else:
            options.setdefault("layerOptions", {})[taken.name] = value
    elif taken.name == "photoshopOptions":
        flags = (job.get("photoshopOptions") or {}).get("layerOptions") or {}
        job["photoshopOptions"] = {**value, **flags}
    else:
        job[taken.name] = value


def _cut(node: etree._Element) -> None:
    """Removes `node`, keeping its tail text where it was (text there is still checked)."""
    parent = node.getparent()
    assert parent is not None
    if node.tail:
        before = node.getprevious()
        if before is None:
            parent.text = (parent.text or "") + node.tail
        else:
            before.tail = (before.tail or "") + node.tail
        node.tail = None
    parent.remove(node)


def _name(node: etree._Element | None) -> str | None:
    if node is None or not isinstance(node.tag, str):
        return None
    return etree.QName(node).localname


# -- answers ------------------------------------------------------------------------------------
def canonical_photoshop(data: Mapping[str, Any]) -> dict[str, Any]:
    """The newer shape of an old PhotoshopOptions (ips-versions §3): maintainLayers true is
    process MaintainLayers, false is None; layerNaming and anchor move into layerOptions."""
    layers = {name: data.get(name) for name in ("layerNaming", "anchor", *PHOTOSHOP_FLAGS)}
    return {
        "process": "MaintainLayers" if data.get("maintainLayers") else "None",
        "layerOptions": {name: value for name, value in layers.items() if value is not None},
    }


def _old_photoshop(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """PhotoshopOptions in the old shape (ips-versions §2.7): maintainLayers is whether
    process is MaintainLayers, layerNaming and anchor come from layerOptions; with no value
    for either (no source gives IPS's defaults) the element is left out."""
    if "maintainLayers" in data:
        return data
    layers = data.get("layerOptions") or {}
    if layers.get("layerNaming") is None or layers.get("anchor") is None:
        return None
    return {
        "maintainLayers": data.get("process") == "MaintainLayers",
        "layerNaming": layers["layerNaming"],
        "anchor": layers["anchor"],
    }


def _newer_photoshop(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return canonical_photoshop(data) if "maintainLayers" in data else data


def _old_postscript(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """PostScriptOptions up to 4.4 requires resolution, colorspace and extractSearchWords:
    without all three it is left out."""
    needed = ("resolution", "colorspace", "extractSearchWords")
    return data if all(data.get(name) is not None for name in needed) else None


#: Turns a type's stored data into what a namespace writes; None: the element is left out.
Converter = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]


@functools.cache
def converters(namespace: str) -> Mapping[str, Converter]:
    """Type name -> its converter in `namespace`, for the types an old shape changes."""
    if namespace not in OLD_PHOTOSHOP_NS:
        return {"PhotoshopOptions": _newer_photoshop}
    found: dict[str, Converter] = {"PhotoshopOptions": _old_photoshop}
    if namespace in OLD_POSTSCRIPT_NS:
        found["PostScriptOptions"] = _old_postscript
    return found


__all__ = [
    "OLD_PHOTOSHOP_NS",
    "VIDEO_PRESET_NS",
    "Taken",
    "canonical_photoshop",
    "converters",
    "flag",
    "put",
    "take",
    "validator",
]
