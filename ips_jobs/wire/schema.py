"""The IPS payload schema, read once from ips-types.xsd (shipped with the WSDLs): an lxml
validator for request bodies and spyne ComplexModels (the typed mirror of every IPS type, in
schema order)."""

from __future__ import annotations

import functools
import threading
from typing import Any

from lxml import etree
from spyne.model import ModelBase
from spyne.model.complex import ComplexModel, ComplexModelBase
from spyne.model.primitive import Boolean, DateTime, Double, Int, Long, Unicode

from ips_jobs.resources import wsdl_folder
from ips_jobs.wire import versions
from ips_jobs.wire.namespaces import CANONICAL_NS

PLACEHOLDER_NS = "urn:ips-types"
XSD = "http://www.w3.org/2001/XMLSchema"
_PRIMITIVES: dict[str, type[ModelBase]] = {
    "string": Unicode,
    "int": Int,
    "long": Long,
    "double": Double,
    "float": Double,
    "boolean": Boolean,
    "dateTime": DateTime,
}


@functools.cache
def schema_text() -> bytes:
    """ips-types.xsd in the canonical namespace (bytes: safe to share between threads)."""
    return (
        (wsdl_folder() / "ips-types.xsd")
        .read_bytes()
        .replace(PLACEHOLDER_NS.encode(), CANONICAL_NS.encode())
    )


@functools.cache
def schema_document() -> etree._Element:
    return etree.fromstring(schema_text())


_local = threading.local()
_compiling = threading.Lock()


def validator() -> etree.XMLSchema:
    """One validator per thread (a validator's error log is its own)."""
    found = getattr(_local, "validator", None)
    if found is None:
        found = _local.validator = compile_schema(schema_text())
    return found


def compile_schema(text: bytes) -> etree.XMLSchema:
    """Compiles one schema at a time: libxml2 crashed when several threads compiled at once."""
    with _compiling:
        return etree.XMLSchema(etree.fromstring(text))


class _Builder:
    """Turns XSD declarations into spyne ComplexModels, named types first-come, memoised.
    A type may contain itself (Folder/subfolderArray/items is a Folder): a named type is
    registered before its members are read, and the copies `customize` made of it meanwhile
    get its members once they are known."""

    def __init__(self, doc: etree._Element) -> None:
        self.named = {el.get("name"): el for el in doc.findall(f"{{{XSD}}}complexType")}
        self.elements = {el.get("name"): el for el in doc.findall(f"{{{XSD}}}element")}
        self.built: dict[str, type[ComplexModelBase]] = {}
        #: Named types being built -> the copies made of them so far.
        self.pending: dict[str, list[type[ComplexModelBase]]] = {}

    def build_all(self) -> None:
        for name in self.named:
            self.named_type(name)
        for name, element in self.elements.items():
            if element.find(f"{{{XSD}}}complexType") is not None:
                self.element_type(name)

    def named_type(self, name: str) -> type[ComplexModelBase]:
        if name not in self.built:
            model = self.built[name] = _declare(name, [])
            self.pending[name] = []
            for member_name, member in self._members(self.named[name]):
                model._type_info[member_name] = member
            for copy in self.pending.pop(name):
                copy._type_info.update(model._type_info)
        return self.built[name]

    def element_type(self, name: str) -> type[ComplexModelBase]:
        key = f"element:{name}"
        if key not in self.built:
            complex_type = self.elements[name].find(f"{{{XSD}}}complexType")
            self.built[key] = _declare(name, self._members(complex_type))
        return self.built[key]

    def _members(self, complex_type: etree._Element) -> list[tuple[str, Any]]:
        sequence = complex_type.find(f"{{{XSD}}}sequence")
        return [
            (child.get("name"), self._member(child))
            for child in (sequence if sequence is not None else ())
            if isinstance(child.tag, str)
        ]

    def _member(self, element: etree._Element) -> Any:
        prefix, _, local = element.get("type", "").partition(":")
        base = _PRIMITIVES[local] if prefix == "xsd" else self.named_type(local)
        max_occurs = element.get("maxOccurs", "1")
        member = base.customize(
            min_occurs=int(element.get("minOccurs", "1")),
            max_occurs="unbounded" if max_occurs == "unbounded" else int(max_occurs),
        )
        if local in self.pending:
            self.pending[local].append(member)
        return member


def _declare(name: str, members: list[tuple[str, Any]]) -> type[ComplexModelBase]:
    namespace = {"__namespace__": CANONICAL_NS, "__type_name__": name, "_type_info": members}
    return type(name, (ComplexModel,), namespace)


_builders: dict[str, _Builder] = {}
_building = threading.Lock()


def _builder(col: str = versions.COLUMNS[-1]) -> _Builder:
    """The models of a version column's types (wire/versions.py; the newest is canonical),
    every one built before any is handed out: a model another thread is still filling in
    would write an answer with its members missing."""
    found = _builders.get(col)
    if found is None:
        with _building:
            found = _builders.get(col)
            if found is None:
                doc = schema_document()
                found = _Builder(doc if col == versions.COLUMNS[-1] else versions.derive(doc, col))
                found.build_all()
                _builders[col] = found
    return found


def param_type(operation: str, col: str = versions.COLUMNS[-1]) -> type[ComplexModelBase]:
    """The `<op>Param` of the canonical schema, or of a version column's."""
    return _builder(col).element_type(f"{operation}Param")


def return_type(operation: str, namespace: str = CANONICAL_NS) -> type[ComplexModelBase]:
    """The `<op>Return` as the namespace's version has it."""
    return _builder(versions.column_of_namespace(namespace)).element_type(f"{operation}Return")


def named_type(name: str) -> type[ComplexModelBase]:
    return _builder().named_type(name)


def fragment_type(document: etree._Element, name: str) -> type[ComplexModelBase]:
    """A named type of another small schema in the same style (wire/older.py's old shapes)."""
    return _Builder(document).named_type(name)
