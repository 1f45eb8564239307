"""Request payloads in, response payloads out: namespace normalisation, schema validation,
reading into plain data, and writing in the caller's namespace the way IPS writes it."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from lxml import etree
from spyne.model import ModelBase
from spyne.model.complex import ComplexModelBase
from spyne.model.primitive import Boolean, DateTime, Double, Integer, Unicode

from ips_jobs.errors import InvalidParameter, InvalidRequestXml, MissingParameter
from ips_jobs.wire import older, schema, versions
from ips_jobs.wire.namespaces import CANONICAL_NS, VERSION_BY_NS, has_operation

#: Dates whose wall time is this far inside datetime's range survive any zone conversion.
_EARLIEST = datetime.min + timedelta(days=2)
_LATEST = datetime.max - timedelta(days=2)

_NOT_EXPECTED = re.compile(
    r"Element '(?:\{(?P<ns>[^}]*)\})?(?P<el>[^']+)': This element is not expected\."
    r"(?: Expected is (?:one of )?\( (?P<exp>[^)]+) \))?"
)
_MISSING = re.compile(
    r"Element '(?:\{[^}]*\})?(?P<el>[^']+)': Missing child element\(s\)\. "
    r"Expected is (?:one of )?\( (?P<exp>[^)]+) \)"
)
_BAD_VALUE = re.compile(
    r"Element '(?:\{[^}]*\})?(?P<el>[^']+)': '(?P<val>.*)' is not a valid value of the "
    r"atomic type 'xs:(?P<type>\w+)'"
)


def normalize(element: etree._Element, namespace: str) -> None:
    """Moves a payload from its versioned namespace into the canonical one, in place."""
    if namespace == CANONICAL_NS:
        return
    prefix = f"{{{namespace}}}"
    for node in element.iter(f"{prefix}*"):
        node.tag = f"{{{CANONICAL_NS}}}{node.tag[len(prefix) :]}"


def read(operation: str, element: etree._Element, namespace: str = CANONICAL_NS) -> dict[str, Any]:
    """Validates a canonical `<op>Param` against the schema, then reads it as plain data:
    dicts of the members that were sent, lists for repeated ones, typed scalars. `namespace`
    is the one the payload was sent in: the old shapes it had are read too (wire/older.py)."""
    taken = older.take(operation, element, namespace)
    model = schema.param_type(operation)
    _validate(schema.validator(), model, element)
    col = versions.request_column(namespace)
    # an operation a version does not have (the UploadFile servlet's uploadPost) has no types
    # of that version to hold a request to
    if col in versions.EXACT_REQUEST_COLUMNS and has_operation(namespace, operation):
        _declared(schema.param_type(operation, col), element, VERSION_BY_NS[namespace])
    data = _read(_shape(model), element)
    for piece in taken:
        if piece.name == older.VIDEO_PRESET:
            _validate(older.validator(), None, piece.element)
            value: Any = piece.element.text or ""
        elif piece.name in older.PHOTOSHOP_FLAGS:
            value = older.flag(piece.element, piece.name)
        else:
            piece_model = older.photoshop_type()
            _validate(older.validator(), piece_model, piece.element)
            value = _read(_shape(piece_model), piece.element)
        older.put(data, piece, value)
    return data


def _validate(
    validator: etree.XMLSchema, model: type[ComplexModelBase] | None, element: etree._Element
) -> None:
    """Raises the IPS error naming the first field that does not match the schema."""
    if not validator.validate(element):
        error = validator.error_log.filter_from_errors()[0]
        parent = _parent_model(model, element, error.path) if model is not None else None
        raise _schema_error(error.message, parent, _siblings(element, error.path))


def _declared(model: type[ComplexModelBase], element: etree._Element, version: str | None) -> None:
    """Refuses an element the version's own type lacks (the request is valid canonically)."""
    members = model._type_info
    for child in element:
        name = etree.QName(child).localname
        member = members.get(name)
        if member is None:
            raise InvalidRequestXml(
                f"Unknown element '{name}' in {model.__type_name__}: "
                f"{version or 'the unversioned namespace'} has no such element"
            )
        if issubclass(member, ComplexModelBase):
            _declared(member, child, version)


@dataclass(frozen=True)
class _Member:
    """How to read one child element: a scalar parser or a nested shape, once or repeated."""

    many: bool
    scalar: Callable[[str, str], Any] | None
    shape: Mapping[str, _Member]


def _read(shape: Mapping[str, _Member], element: etree._Element) -> dict[str, Any]:
    """The schema has vouched for names, order and lexical forms; this only converts."""
    data: dict[str, Any] = {}
    for child in element:
        name = etree.QName(child).localname
        member = shape[name]
        if member.scalar is None:
            value = _read(member.shape, child)
        else:
            value = member.scalar(child.text or "", name)
        if member.many:
            data.setdefault(name, []).append(value)
        else:
            data[name] = value
    return data


@functools.cache
def _shape(model: type[ComplexModelBase]) -> Mapping[str, _Member]:
    shape: dict[str, _Member] = {}
    for name, member in model._type_info.items():
        many = member.Attributes.max_occurs > 1
        if issubclass(member, ComplexModelBase):
            shape[name] = _Member(many, None, _shape(member))
        else:
            scalar = next(read for kind, read in _SCALARS.items() if issubclass(member, kind))
            shape[name] = _Member(many, scalar, {})
    return shape


def _string(text: str, _field: str) -> str:
    return text


def _integer(text: str, _field: str) -> int:
    """The schema has vouched for the form and the range (xsd:int, xsd:long), but not for
    the number of leading zeros, and int() takes at most 4,300 digits."""
    digits = text.strip()
    sign = "-" if digits.startswith("-") else ""
    return int(sign + (digits.lstrip("+-").lstrip("0") or "0"))


def _double(text: str, _field: str) -> float:
    return float(text)


def _boolean(text: str, _field: str) -> bool:
    return text.strip() in ("true", "1")


_DATE_TIME = re.compile(
    r"\s*(?P<year>-?\d{4,})-(?P<month>\d\d)-(?P<day>\d\d)T(?P<hour>\d\d):(?P<minute>\d\d):"
    r"(?P<second>\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)?\s*"
)


def _date_time(text: str, field: str) -> datetime:
    """An xsd:dateTime: naive when it names no zone; 24:00:00 is the next midnight."""
    match = _DATE_TIME.fullmatch(text)
    year = int(match["year"]) if match else 0
    if match is None or not _EARLIEST.year <= year <= _LATEST.year:
        raise InvalidParameter(field, f"'{text.strip()}' is outside the supported dates")
    zone: tzinfo | None = None
    if match["zone"] == "Z":
        zone = UTC
    elif match["zone"]:
        sign = -1 if match["zone"][0] == "-" else 1
        hours, minutes = int(match["zone"][1:3]), int(match["zone"][4:6])
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        zone = UTC if zone.utcoffset(None) == timedelta(0) else zone
    hour = int(match["hour"])
    try:
        value = datetime(
            year,
            int(match["month"]),
            int(match["day"]),
            hour % 24,
            int(match["minute"]),
            int(match["second"]),
            int((match["fraction"] or "0")[:6].ljust(6, "0")),
            zone,
        ) + timedelta(days=hour // 24)
    except (ValueError, OverflowError):
        raise InvalidParameter(field, f"'{text.strip()}' is not a valid dateTime") from None
    if not _EARLIEST <= value.replace(tzinfo=None) <= _LATEST:
        raise InvalidParameter(field, f"'{text.strip()}' is outside the supported dates")
    return value


_SCALARS: dict[type[ModelBase], Callable[[str, str], Any]] = {
    Unicode: _string,
    Integer: _integer,
    Double: _double,
    Boolean: _boolean,
    DateTime: _date_time,
}


def _schema_error(
    message: str, parent: type[ComplexModelBase] | None, present: frozenset[str] = frozenset()
) -> Exception:
    """Names the field, as IPS does: a wrong value, a missing element, or an unknown one."""
    if match := _BAD_VALUE.search(message):
        kind = match["type"]
        return InvalidParameter(match["el"], f"'{match['val']}' is not a valid {kind}")
    if match := _MISSING.search(message):
        return MissingParameter(_last_expected(match["exp"]))
    if match := _NOT_EXPECTED.search(message):
        name = match["el"]
        if match["ns"] != CANONICAL_NS:  # the payload's own namespace was moved there
            where = f"namespace '{match['ns']}'" if match["ns"] else "no namespace"
            return InvalidRequestXml(
                f"Element '{name}' is in {where}: it belongs in the namespace of the "
                "operation's element"
            )
        if match["exp"] and parent is not None:
            expected = _last_expected(match["exp"])
            member = parent._type_info.get(expected)
            if member is not None and member.Attributes.min_occurs >= 1:
                if expected in present:  # it was sent, only after `name`
                    return InvalidRequestXml(
                        f"Element '{expected}' is out of order: it must come before '{name}'"
                    )
                return MissingParameter(expected)
            if name in parent._type_info:
                return InvalidRequestXml(f"Element '{name}' is repeated or out of order")
        return InvalidRequestXml(f"Unknown element '{name}'")
    return InvalidRequestXml(f"The request does not match the schema: {message}")


def _parent_model(
    model: type[ComplexModelBase], root: etree._Element, path: str | None
) -> type[ComplexModelBase] | None:
    """The model of the element holding the offending node (paths are relative to `root`)."""
    steps = (path or "").split("/")[2:]
    if not steps:
        return None
    found = root.xpath("./" + "/".join(_step(step) for step in steps))
    if not found:
        return None
    chain = list(found[0].iterancestors())
    for node in reversed(chain[: chain.index(root)] if root in chain else []):
        model = model._type_info.get(etree.QName(node).localname)
        if model is None or not issubclass(model, ComplexModelBase):
            return None
    return model


def _siblings(root: etree._Element, path: str | None) -> frozenset[str]:
    """The local names of the offending node and its siblings."""
    steps = (path or "").split("/")[2:]
    found = root.xpath("./" + "/".join(_step(step) for step in steps)) if steps else []
    parent = found[0].getparent() if found else None
    if parent is None:
        return frozenset()
    return frozenset(etree.QName(c).localname for c in parent if isinstance(c.tag, str))


def _step(step: str) -> str:
    """One libxml2 error-path step (`ns0:name[2]`, `*[3]`) as a prefix-free XPath step."""
    match = re.fullmatch(r"(?:[\w.-]+:)?([\w.*-]+)(\[\d+\])?", step)
    if match is None:
        return "*[false()]"
    name, index = match[1], match[2] or ""
    return f"*{index}" if name == "*" else f"*[local-name()='{name}']{index}"


def _last_expected(expected: str) -> str:
    last = expected.split(",")[-1].strip()
    return re.sub(r"^\{[^}]*\}", "", last)


class Writer:
    """Writes plain data as XML in a given namespace, ordered and typed by a spyne model.

    The output uses a default namespace, as IPS does (`<submitJobReturn xmlns="...">`).
    """

    def __init__(self, namespace: str, zone: tzinfo) -> None:
        self.namespace = namespace
        self.zone = zone
        #: Types whose stored data an old shape changes (wire/older.py).
        self.converters = older.converters(namespace)

    def element(
        self, name: str, model: type[ComplexModelBase], data: Mapping[str, Any]
    ) -> etree._Element:
        root = etree.Element(f"{{{self.namespace}}}{name}", nsmap={None: self.namespace})
        self.fill(root, model, data)
        return root

    def fill(
        self, parent: etree._Element, model: type[ComplexModelBase], data: Mapping[str, Any]
    ) -> None:
        """Writes `data`'s members as children of `parent`, in `model`'s order."""
        for name, member in model._type_info.items():
            value = data.get(name)
            if value is None:
                if member.Attributes.min_occurs >= 1 and member.Attributes.max_occurs == 1:
                    etree.SubElement(parent, f"{{{self.namespace}}}{name}")
                continue
            values = value if member.Attributes.max_occurs > 1 else (value,)
            for item in values:
                if issubclass(member, ComplexModelBase):
                    convert = self.converters.get(member.__type_name__)
                    converted = item if convert is None else convert(item)
                    if converted is not None:
                        child = etree.SubElement(parent, f"{{{self.namespace}}}{name}")
                        self.fill(child, member, converted)
                else:
                    child = etree.SubElement(parent, f"{{{self.namespace}}}{name}")
                    child.text = self.text(member, item)

    def text(self, member: Any, value: Any) -> str:
        if isinstance(value, str):
            return value
        if issubclass(member, Boolean):
            return "true" if value else "false"
        if issubclass(member, DateTime):
            return self.date(value)
        if issubclass(member, Double):
            return repr(float(value))
        return str(value)

    def date(self, value: datetime) -> str:
        local = value.astimezone(self.zone)
        stamp = local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
        offset = local.utcoffset()
        if not offset:
            return stamp + "Z"
        return stamp + local.strftime("%z")[:3] + ":" + local.strftime("%z")[3:]


__all__ = ["UTC", "Writer", "normalize", "read"]
