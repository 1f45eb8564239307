"""Older shapes some payload namespaces had and the canonical schema lacks, so that clients
built from those versions' real WSDLs are not refused (30003) for sending them:

* `photoshopOptions{maintainLayers, layerNaming, anchor}` (all three required, in that order),
  the PhotoshopOptions of the legacy namespace, 2008-01-15, 2008-09-10 and 2009-07-31; 4.5
  (2010-01-31) replaced it with `{process, layerOptions}`.
* `uploadDirectoryJob/videoEncodingPreset` (4.2, 2008-09-10; gone in 2016-01-14-beta), whose type
  and position no source gives: read as a string wherever it is in the job.
* `renameAssetParam/renameFiles` (boolean; the legacy namespace to 2010-01-31, removed in 6.0):
  accepted and dropped.

And answers: the Asset and Folder elements an old namespace lacks are not written (Asset
`fileName` before 6.0, `trashState` before 4.2, `subType` before 4.4; Folder `lastModified`
and `childLastModified` before 2010-01-31, whose real answers are the first to have them;
getAssociatedAssets `subAssetArray` before 2017-10-29-beta).

They are stored as sent, in the job's detail, and written back in the shape sent where the
version had it. Every other namespace sees the canonical equivalent of the old PhotoshopOptions
and no videoEncodingPreset. Until each version gets its own schema, this is the one place that
knows these shapes: requests are validated against the canonical schema once the old elements
are cut out (`take`), the old elements against `SCHEMA` here.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from lxml import etree
from spyne.model.complex import ComplexModelBase

from ips_jobs.errors import InvalidParameter, InvalidRequestXml
from ips_jobs.wire import schema
from ips_jobs.wire.namespaces import CANONICAL_NS, VERSIONS, payload_ns

#: Namespaces whose PhotoshopOptions is `{maintainLayers, layerNaming, anchor}` (ips-versions
#: §2.7 and §3: exact for the legacy namespace, derived for 4.0 to 4.4).
OLD_PHOTOSHOP_NS = frozenset(
    payload_ns(v) for v in (None, "2008-01-15", "2008-09-10", "2009-07-31")
)
#: Namespaces that take `uploadDirectoryJob/videoEncodingPreset`: known in 2008-09-10, unknown
#: (so accepted) from 2008-01-15 to 2014-04-03; absent from the legacy namespace and from
#: 2016-01-14-beta on (ips-versions §2.6 and §3).
VIDEO_PRESET_NS = frozenset(payload_ns(v) for v in VERSIONS[: VERSIONS.index("2016-01-14-beta")])
#: Where it is written back: the one version known to have it (elsewhere its presence is unknown,
#: and an element a version lacks breaks strict clients).
VIDEO_PRESET_ECHO_NS = frozenset({payload_ns("2008-09-10")})

OLD_PHOTOSHOP_NAMES = ("maintainLayers", "layerNaming", "anchor")
VIDEO_PRESET = "videoEncodingPreset"
RENAME_FILES = "renameFiles"


def _before(version: str) -> frozenset[str]:
    """The payload namespaces older than `version`, the legacy one included."""
    return frozenset(payload_ns(v) for v in (None, *VERSIONS[: VERSIONS.index(version)]))


#: Namespaces whose renameAssetParam has renameFiles (ips-asset-api.md §5.10, §9).
RENAME_FILES_NS = _before("2011-11-04")
#: Type -> (element, the namespaces that lack it): ips-asset-api.md §9.
MISSING: Final[dict[str, tuple[tuple[str, frozenset[str]], ...]]] = {
    "Asset": (
        ("subType", _before("2009-07-31")),
        ("fileName", _before("2011-11-04")),
        ("trashState", _before("2008-09-10")),
    ),
    "Folder": (
        ("lastModified", _before("2010-01-31")),
        ("childLastModified", _before("2010-01-31")),
    ),
    "getAssociatedAssetsReturn": (("subAssetArray", _before("2017-10-29-beta")),),
}
#: Detail key: which element each element without a schema position followed when sent.
AFTER = "@after"

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
    """An old-shaped element cut out of a submitJobParam: which job it was in, and for an
    element without a schema position, the element it followed (None: it came first)."""

    kind: str
    name: str
    element: etree._Element
    after: str | None = None


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
        if namespace in OLD_PHOTOSHOP_NS:
            for node in list(job.iterchildren(f"{{{CANONICAL_NS}}}photoshopOptions")):
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
                before = next(node.itersiblings(f"{{{CANONICAL_NS}}}*", preceding=True), None)
                _cut(node)
                taken.append(Taken(kind, VIDEO_PRESET, node, _name(before)))
    return taken


def _drop_rename_files(param: etree._Element) -> None:
    """renameFiles, which 6.0 removed, is read as a boolean and dropped: a file is always
    renamed with its asset."""
    for node in list(param.iterchildren(f"{{{CANONICAL_NS}}}{RENAME_FILES}")):
        if (node.text or "").strip() not in ("true", "false", "1", "0"):
            raise InvalidParameter(RENAME_FILES, f"'{node.text}' is not a valid boolean")
        _cut(node)


def put(data: dict[str, Any], taken: Taken, value: Any) -> None:
    """Stores an old element's value in the job's detail, as sent."""
    job = data[taken.kind]
    job[taken.name] = value
    if taken.name == VIDEO_PRESET:
        job.setdefault(AFTER, {})[VIDEO_PRESET] = taken.after


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
class Filler(Protocol):
    """What codec.Writer offers a shape writer."""

    namespace: str

    def fill(
        self, parent: etree._Element, model: type[ComplexModelBase], data: Mapping[str, Any]
    ) -> None: ...


ShapeWriter = Callable[[Filler, etree._Element, type[ComplexModelBase], Mapping[str, Any]], None]


def canonical_photoshop(data: Mapping[str, Any]) -> dict[str, Any]:
    """The newer shape of an old PhotoshopOptions (ips-versions §3): maintainLayers true is
    process MaintainLayers, false is None; layerNaming and anchor move into layerOptions."""
    return {
        "process": "MaintainLayers" if data.get("maintainLayers") else "None",
        "layerOptions": {"layerNaming": data.get("layerNaming"), "anchor": data.get("anchor")},
    }


def _photoshop_as_sent(
    writer: Filler, parent: etree._Element, model: type[ComplexModelBase], data: Mapping[str, Any]
) -> None:
    writer.fill(parent, photoshop_type() if "maintainLayers" in data else model, data)


def _photoshop_newer(
    writer: Filler, parent: etree._Element, model: type[ComplexModelBase], data: Mapping[str, Any]
) -> None:
    writer.fill(parent, model, canonical_photoshop(data) if "maintainLayers" in data else data)


def _upload_directory_with_preset(
    writer: Filler, parent: etree._Element, model: type[ComplexModelBase], data: Mapping[str, Any]
) -> None:
    """Writes videoEncodingPreset back right after the element it followed when sent (after
    the nearest one written, if that one is not)."""
    writer.fill(parent, model, data)
    preset = data.get(VIDEO_PRESET)
    if preset is None:
        return
    order = {name: i for i, name in enumerate(model._type_info)}
    limit = order.get((data.get(AFTER) or {}).get(VIDEO_PRESET) or "", -1)
    index = sum(1 for child in parent if order.get(_name(child) or "", len(order)) <= limit)
    node = etree.Element(f"{{{writer.namespace}}}{VIDEO_PRESET}")
    node.text = str(preset)
    parent.insert(index, node)


@functools.cache
def shape_writers(namespace: str) -> Mapping[str, ShapeWriter]:
    """Type name -> how to write it in `namespace`, for the types an old shape changes."""
    writers: dict[str, ShapeWriter] = {
        "PhotoshopOptions": (
            _photoshop_as_sent if namespace in OLD_PHOTOSHOP_NS else _photoshop_newer
        )
    }
    if namespace in VIDEO_PRESET_ECHO_NS:
        writers["UploadDirectoryJob"] = _upload_directory_with_preset
    for type_name, gaps in MISSING.items():
        lacking = frozenset(name for name, spaces in gaps if namespace in spaces)
        if lacking:
            writers[type_name] = _without(lacking)
    return writers


def _without(names: frozenset[str]) -> ShapeWriter:
    """Writes a type without the elements its namespace lacks."""

    def write(
        writer: Filler,
        parent: etree._Element,
        model: type[ComplexModelBase],
        data: Mapping[str, Any],
    ) -> None:
        writer.fill(parent, model, {k: v for k, v in data.items() if k not in names})

    return write


__all__ = [
    "AFTER",
    "OLD_PHOTOSHOP_NS",
    "VIDEO_PRESET_ECHO_NS",
    "VIDEO_PRESET_NS",
    "Taken",
    "canonical_photoshop",
    "put",
    "shape_writers",
    "take",
    "validator",
]
