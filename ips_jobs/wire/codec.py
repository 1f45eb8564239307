"""Request payloads in, response payloads out: namespace normalisation, schema validation,
reading through spyne, and writing in the caller's namespace the way IPS writes it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from lxml import etree
from spyne.model.complex import ComplexModelBase
from spyne.model.primitive import Boolean, DateTime, Double
from spyne.protocol.xml import XmlDocument

from ips_jobs.errors import InvalidParameter, InvalidRequestXml, MissingParameter
from ips_jobs.wire import schema
from ips_jobs.wire.namespaces import CANONICAL_NS

_protocol = XmlDocument()

_NOT_EXPECTED = re.compile(
    r"Element '(?:\{[^}]*\})?(?P<el>[^']+)': This element is not expected\."
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


def read(operation: str, element: etree._Element) -> Any:
    """Validates a canonical `<op>Param` against the schema, then reads it into its model."""
    validator = schema.validator()
    model = schema.param_type(operation)
    if not validator.validate(element):
        error = validator.error_log.filter_from_errors()[0]
        parent = _parent_model(model, element, error.path)
        raise _schema_error(error.message, parent, _siblings(element, error.path))
    return _protocol.from_element(None, model, element)


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


#: Dates whose wall time is this far inside datetime's range survive any zone conversion.
_EARLIEST = datetime.min + timedelta(days=2)
_LATEST = datetime.max - timedelta(days=2)


def to_data(value: Any, field: str = "") -> Any:
    """A spyne instance as plain data: dicts of the members that were sent, lists, scalars."""
    if isinstance(value, ComplexModelBase):
        return {
            name: to_data(member, name)
            for name, member in value.as_dict().items()
            if member is not None
        }
    if isinstance(value, list | tuple):
        return [to_data(item, field) for item in value]
    if isinstance(value, datetime) and not _EARLIEST <= value.replace(tzinfo=None) <= _LATEST:
        raise InvalidParameter(field, f"'{value.isoformat()}' is outside the supported dates")
    return value


class Writer:
    """Writes plain data as XML in a given namespace, ordered and typed by a spyne model.

    The output uses a default namespace, as IPS does (`<submitJobReturn xmlns="...">`).
    """

    def __init__(self, namespace: str, zone: tzinfo) -> None:
        self.namespace = namespace
        self.zone = zone

    def element(
        self, name: str, model: type[ComplexModelBase], data: Mapping[str, Any]
    ) -> etree._Element:
        root = etree.Element(f"{{{self.namespace}}}{name}", nsmap={None: self.namespace})
        self._fill(root, model, data)
        return root

    def _fill(
        self, parent: etree._Element, model: type[ComplexModelBase], data: Mapping[str, Any]
    ) -> None:
        for name, member in model._type_info.items():
            value = data.get(name)
            if value is None:
                if member.Attributes.min_occurs >= 1 and member.Attributes.max_occurs == 1:
                    etree.SubElement(parent, f"{{{self.namespace}}}{name}")
                continue
            values = value if member.Attributes.max_occurs > 1 else (value,)
            for item in values:
                child = etree.SubElement(parent, f"{{{self.namespace}}}{name}")
                if issubclass(member, ComplexModelBase):
                    self._fill(child, member, item)
                else:
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


__all__ = ["UTC", "Writer", "normalize", "read", "to_data"]
