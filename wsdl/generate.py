"""Generate the served WSDL files from the checked-in schema sources.

Reads ``wsdl/ips-types.xsd`` (the payload schema, placeholder target namespace) and
``wsdl/ips-common.xsd`` (authHeader + the three faults, http://www.scene7.com/IpsApi/xsd) and
writes one WSDL 1.1 document per API version, ``wsdl/IpsApi-<version>.wsdl``, plus the legacy
unversioned ``wsdl/IpsApi.wsdl``. Output is deterministic.

Usage, from the repository root::

    python wsdl/generate.py           # (re)write the WSDL files
    python wsdl/generate.py --check   # exit 1 naming every stale file; write nothing

Only the standard library and lxml are used; the version list comes from
``ips_jobs.wire.namespaces``.
"""

import argparse
import copy
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

WSDL_DIR = Path(__file__).resolve().parent
REPO_ROOT = WSDL_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ips_jobs.wire import versions  # noqa: E402
from ips_jobs.wire.namespaces import (  # noqa: E402
    COMMON_NS,
    OPERATION_VERSIONS,
    VERSIONS,
    WSDL_NS,
    has_operation,
    payload_ns,
)

TYPES_XSD = WSDL_DIR / "ips-types.xsd"
COMMON_XSD = WSDL_DIR / "ips-common.xsd"

#: The job operations every generated WSDL declares, in this order; then those only some
#: versions have (`OPERATION_VERSIONS`: the beta archived-log ones), then the asset ones.
OPERATIONS: tuple[str, ...] = (
    "submitJob",
    "getScheduledJobs",
    "getActiveJobs",
    "getJobLogs",
    "getJobLogDetails",
    "stopJob",
    "pauseJob",
    "resumeJob",
    "executeJob",
    "deleteJob",
    "checkLogin",
    "getCompanyInfo",
    "getUserInfo",
)
#: The asset and folder operations, in this order after the job ones, each with the first API
#: version that has it (None: the legacy namespace already has it), as the project's IPS fact
#: sheet (`ips-asset-api.md` §9) gives them: a stub generated from a version's file offers only
#: what that version has. moveFolder is 6.0, whose development namespace 2011-11-04 IPS
#: documents it with (`ips-versions.md`), so it starts there, as Asset/fileName (6.0) does.
ASSET_OPERATIONS: dict[str, str | None] = {
    "getAssetsByName": "2010-01-31",
    "searchAssets": None,
    "searchAssetsByMetadata": "2010-01-31",
    "getAssets": None,
    "getFolderTree": None,
    "getFolders": None,
    "createFolder": None,
    "renameFolder": None,
    "moveFolder": "2011-11-04",
    "deleteFolder": None,
    "deleteAsset": None,
    "deleteAssets": "2008-01-15",
    "renameAsset": None,
    "moveAsset": None,
    "moveAssets": "2008-01-15",
    "emptyAssetsFromTrash": "2008-01-15",
    "restoreAssetsFromTrash": "2008-01-15",
    "getAssociatedAssets": "2008-01-15",
    "setAssetPublishState": None,
    "setAssetsPublishState": "2008-01-15",
    "getAssetPublishHistory": "2008-01-15",
}
#: Fault elements of the common namespace; every operation declares all three.
FAULTS: tuple[str, ...] = ("authenticationFault", "authorizationFault", "ipsApiFault")
HEADER_ELEMENT = "authHeader"

#: soap:address / soap12:address location in every generated file. The server rewrites this
#: exact string when it serves a WSDL; keep it in sync with the server and wsdl/README.md.
PLACEHOLDER_ADDRESS = "http://localhost:8080/scene7/services/IpsApiService"

SERVICE = "IpsApiService"
PORT_TYPE = "IpsApiPortType"
SOAP11_BINDING = "IpsApiSoapBinding"
SOAP12_BINDING = "IpsApiSoap12Binding"
SOAP11_PORT = "IpsApiSoapPort"
SOAP12_PORT = "IpsApiSoap12Port"

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XSD = "http://www.w3.org/2001/XMLSchema"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"

#: Prefixes on <wsdl:definitions>, used by message parts (the schemas declare their own).
PAYLOAD_PREFIX = "ips"
COMMON_PREFIX = "common"

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class GenerateError(Exception):
    """The schema sources are inconsistent; the message says how."""


@dataclass(frozen=True)
class Target:
    """One WSDL file: its name and the payload namespace its types schema targets."""

    filename: str
    version: str | None

    @property
    def payload_ns(self) -> str:
        return payload_ns(self.version)

    @property
    def legacy(self) -> bool:
        return self.version is None

    @property
    def operations(self) -> tuple[str, ...]:
        """The job operations, then the other job and the asset operations this version has."""
        rank = -1 if self.version is None else VERSIONS.index(self.version)
        limited = tuple(op for op in OPERATION_VERSIONS if has_operation(self.payload_ns, op))
        return (
            OPERATIONS
            + limited
            + tuple(
                op
                for op, since in ASSET_OPERATIONS.items()
                if since is None or VERSIONS.index(since) <= rank
            )
        )


def targets() -> list[Target]:
    """Every file the generator owns, legacy first, then the versions oldest first."""
    return [Target("IpsApi.wsdl", None)] + [Target(f"IpsApi-{v}.wsdl", v) for v in VERSIONS]


def _w(tag: str) -> str:
    return f"{{{WSDL}}}{tag}"


def _x(tag: str) -> str:
    return f"{{{XSD}}}{tag}"


def load_schema(path: Path) -> etree._Element:
    """Parse a source XSD without comments or blank text (the output is re-indented)."""
    parser = etree.XMLParser(remove_blank_text=True, remove_comments=True, resolve_entities=False)
    root = etree.parse(str(path), parser).getroot()
    if root.tag != _x("schema"):
        raise GenerateError(f"{path.name}: root element is not xsd:schema")
    if root.get("targetNamespace") is None:
        raise GenerateError(f"{path.name}: no targetNamespace")
    return root


def _global_names(children: Iterable[etree._Element]) -> list[tuple[str, str]]:
    return [(etree.QName(c).localname, c.get("name", "")) for c in children]


def _new_schema(
    source: etree._Element, target_ns: str, extra_nsmap: dict[str, str] | None = None
) -> etree._Element:
    """An empty xsd:schema like ``source`` but targeting ``target_ns``.

    Prefixes bound to the source's (placeholder) target namespace are rebound to ``target_ns``,
    so QName attribute values such as ``type="types:ActiveJob"`` keep resolving. The schema
    declares every prefix itself, so it stays valid when cut out of the WSDL.
    """
    source_tns = source.get("targetNamespace")
    nsmap: dict[str, str] = {"xsd": XSD}
    for prefix, uri in source.nsmap.items():
        if prefix is None:
            raise GenerateError("the source schemas must not use a default namespace")
        nsmap[prefix] = target_ns if uri == source_tns else uri
    for prefix, uri in (extra_nsmap or {}).items():
        if nsmap.get(prefix, uri) != uri:
            raise GenerateError(f"prefix {prefix!r} is bound to two namespaces")
        nsmap[prefix] = uri
    schema = etree.Element(_x("schema"), nsmap=nsmap)
    for name, value in sorted(source.attrib.items()):
        if name != "targetNamespace":
            schema.set(name, value)
    schema.set("targetNamespace", target_ns)
    return schema


def build_schemas(
    types_src: etree._Element, common_src: etree._Element, target: Target
) -> list[etree._Element]:
    """The inline schemas of one WSDL: [types, common], or one merged schema for legacy. The
    types are the target version's own (ips_jobs/wire/versions.py)."""
    types_src = versions.derive(types_src, versions.column(target.version))
    if common_src.get("targetNamespace") != COMMON_NS:
        raise GenerateError(f"{COMMON_XSD.name}: targetNamespace must be {COMMON_NS}")
    if not target.legacy:
        types = _new_schema(types_src, target.payload_ns)
        types.extend(copy.deepcopy(c) for c in types_src)
        common = _new_schema(common_src, COMMON_NS)
        common.extend(copy.deepcopy(c) for c in common_src)
        return [types, common]
    # Legacy IpsApi.wsdl: the payload namespace is the common namespace, so one schema holds the
    # job types, the common authHeader (xsd:all) and the faults; no versioned authHeader.
    merged = _new_schema(types_src, COMMON_NS, extra_nsmap=_rebound(common_src, COMMON_NS))
    common_names = {name for _, name in _global_names(common_src)}
    merged.extend(
        copy.deepcopy(c)
        for c in types_src
        if not (c.tag == _x("element") and c.get("name") in common_names)
    )
    merged.extend(copy.deepcopy(c) for c in common_src)
    names = _global_names(merged)
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GenerateError(f"legacy schema declares these twice: {duplicates}")
    return [merged]


def _rebound(source: etree._Element, target_ns: str) -> dict[str, str]:
    source_tns = source.get("targetNamespace")
    return {
        str(p): (target_ns if uri == source_tns else uri)
        for p, uri in source.nsmap.items()
        if p is not None
    }


def check_document(document: bytes, target: Target) -> None:
    """The generated WSDL parses, each inline schema compiles on its own (cut out of the WSDL,
    as the server does), and every operation's elements exist."""
    root = etree.fromstring(document)
    schemas = root.findall(f"{_w('types')}/{_x('schema')}")
    for schema in schemas:
        try:
            etree.XMLSchema(schema)
        except etree.XMLSchemaParseError as exc:
            raise GenerateError(f"{target.filename}: schema does not compile: {exc}") from exc
    declared = {
        (s.get("targetNamespace"), c.get("name"))
        for s in schemas
        for c in s
        if c.tag == _x("element")
    }
    wanted = [
        (target.payload_ns, f"{op}{kind}")
        for op in target.operations
        for kind in ("Param", "Return")
    ]
    wanted += [(COMMON_NS, name) for name in (HEADER_ELEMENT, *FAULTS)]
    missing = [f"{{{ns}}}{name}" for ns, name in wanted if (ns, name) not in declared]
    if missing:
        raise GenerateError(f"{target.filename}: schema lacks elements {missing}")


def _header_comment(target: Target) -> str:
    what = "legacy (pre-4.0) unversioned API" if target.legacy else f"API version {target.version}"
    return (
        "\n"
        "  GENERATED FILE, do not edit: written by wsdl/generate.py from wsdl/ips-types.xsd and\n"
        "  wsdl/ips-common.xsd; regenerate with `python wsdl/generate.py` (CI checks it).\n"
        f"  Adobe Scene7 IPS API (IpsApi) emulator WSDL, {what};\n"
        f"  payload namespace {target.payload_ns}.\n"
        "  The soap:address and soap12:address locations are the placeholder\n"
        f"    {PLACEHOLDER_ADDRESS}\n"
        "  which the server replaces with its own endpoint when it serves this file.\n"
    )


def build_wsdl(types_src: etree._Element, common_src: etree._Element, target: Target) -> bytes:
    """The complete WSDL document for one target, as UTF-8 bytes."""
    schemas = build_schemas(types_src, common_src, target)

    nsmap: dict[str, str] = {
        "wsdl": WSDL,
        "soap": SOAP11,
        "soap12": SOAP12,
        "tns": WSDL_NS,
        PAYLOAD_PREFIX: target.payload_ns,
    }
    if not target.legacy:
        nsmap[COMMON_PREFIX] = COMMON_NS
    common_prefix = PAYLOAD_PREFIX if target.legacy else COMMON_PREFIX

    root = etree.Element(_w("definitions"), nsmap=nsmap)
    root.set("name", SERVICE)
    root.set("targetNamespace", WSDL_NS)

    types = etree.SubElement(root, _w("types"))
    for schema in schemas:
        # Created in place, not appended: lxml would drop the schema's own xmlns:types as
        # "redundant" with the root's xmlns:ips (same URI), and attribute values such as
        # type="types:ActiveJob" would then only resolve inside the whole WSDL.
        prefixes = {str(p): uri for p, uri in schema.nsmap.items() if p is not None}
        inline = etree.SubElement(
            types,
            schema.tag,
            attrib={str(k): str(v) for k, v in schema.attrib.items()},
            nsmap=prefixes,
        )
        inline.extend(list(schema))

    def message(name: str, part: str, element: str) -> None:
        msg = etree.SubElement(root, _w("message"), name=name)
        etree.SubElement(msg, _w("part"), name=part, element=element)

    for op in target.operations:
        message(f"{op}Request", "parameters", f"{PAYLOAD_PREFIX}:{op}Param")
        message(f"{op}Response", "parameters", f"{PAYLOAD_PREFIX}:{op}Return")
    message(HEADER_ELEMENT, HEADER_ELEMENT, f"{common_prefix}:{HEADER_ELEMENT}")
    for fault in FAULTS:
        message(fault, "fault", f"{common_prefix}:{fault}")

    port_type = etree.SubElement(root, _w("portType"), name=PORT_TYPE)
    for op in target.operations:
        operation = etree.SubElement(port_type, _w("operation"), name=op)
        etree.SubElement(operation, _w("input"), message=f"tns:{op}Request")
        etree.SubElement(operation, _w("output"), message=f"tns:{op}Response")
        for fault in FAULTS:
            etree.SubElement(operation, _w("fault"), name=fault, message=f"tns:{fault}")

    for binding_name, soap_ns in ((SOAP11_BINDING, SOAP11), (SOAP12_BINDING, SOAP12)):
        root.append(_binding(binding_name, soap_ns, target.operations))

    service = etree.SubElement(root, _w("service"), name=SERVICE)
    for port_name, binding_name, soap_ns in (
        (SOAP11_PORT, SOAP11_BINDING, SOAP11),
        (SOAP12_PORT, SOAP12_BINDING, SOAP12),
    ):
        port = etree.SubElement(service, _w("port"), name=port_name, binding=f"tns:{binding_name}")
        etree.SubElement(port, f"{{{soap_ns}}}address", location=PLACEHOLDER_ADDRESS)

    etree.indent(root, space="  ")
    body = etree.tostring(root, encoding="unicode")
    document = f"{XML_DECLARATION}<!--{_header_comment(target)}-->\n{body}\n".encode()
    check_document(document, target)
    return document


def _binding(name: str, soap_ns: str, operations: Sequence[str]) -> etree._Element:
    """A document/literal binding of the operations, SOAP 1.1 or 1.2 by ``soap_ns``."""

    def s(tag: str) -> str:
        return f"{{{soap_ns}}}{tag}"

    binding = etree.Element(_w("binding"), name=name, type=f"tns:{PORT_TYPE}")
    etree.SubElement(binding, s("binding"), style="document", transport=HTTP_TRANSPORT)
    for op in operations:
        operation = etree.SubElement(binding, _w("operation"), name=op)
        etree.SubElement(operation, s("operation"), soapAction=op, style="document")
        body_in = etree.SubElement(operation, _w("input"))
        etree.SubElement(body_in, s("body"), use="literal")
        etree.SubElement(
            body_in,
            s("header"),
            message=f"tns:{HEADER_ELEMENT}",
            part=HEADER_ELEMENT,
            use="literal",
        )
        body_out = etree.SubElement(operation, _w("output"))
        etree.SubElement(body_out, s("body"), use="literal")
        for fault in FAULTS:
            wsdl_fault = etree.SubElement(operation, _w("fault"), name=fault)
            etree.SubElement(wsdl_fault, s("fault"), name=fault, use="literal")
    return binding


def generate() -> dict[Path, bytes]:
    """Every generated file and its exact content."""
    types_src = load_schema(TYPES_XSD)
    common_src = load_schema(COMMON_XSD)
    return {WSDL_DIR / t.filename: build_wsdl(types_src, common_src, t) for t in targets()}


def _unexpected(expected: Iterable[Path]) -> list[Path]:
    """IpsApi*.wsdl files in wsdl/ that the generator would not write (e.g. a dropped version)."""
    keep = set(expected)
    return sorted(p for p in WSDL_DIR.glob("IpsApi*.wsdl") if p not in keep)


def _rel(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix()


def check(files: dict[Path, bytes]) -> list[str]:
    """Problems that make the checked-in files differ from the generated ones."""
    problems: list[str] = []
    for path, content in files.items():
        if not path.exists():
            problems.append(f"{_rel(path)} is missing")
        elif path.read_bytes() != content:
            problems.append(f"{_rel(path)} is stale (differs from the generated content)")
    problems += [f"{_rel(p)} is stale (not generated any more)" for p in _unexpected(files)]
    return problems


def write(files: dict[Path, bytes]) -> None:
    for path, content in files.items():
        if not path.exists() or path.read_bytes() != content:
            path.write_bytes(content)
            print(f"wrote {_rel(path)}")
    for path in _unexpected(files):
        path.unlink()
        print(f"removed {_rel(path)} (not generated any more)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python wsdl/generate.py",
        description="Generate wsdl/IpsApi*.wsdl from wsdl/ips-types.xsd and wsdl/ips-common.xsd.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each file that differs from what would be generated",
    )
    args = parser.parse_args(argv)
    try:
        files = generate()
    except (GenerateError, OSError, etree.XMLSyntaxError) as exc:
        print(f"wsdl/generate.py: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        problems = check(files)
        for problem in problems:
            print(f"wsdl/generate.py --check: {problem}", file=sys.stderr)
        if problems:
            print("run `python wsdl/generate.py` and commit the result", file=sys.stderr)
            return 1
        print(f"wsdl/generate.py --check: {len(files)} WSDL files up to date")
        return 0
    write(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
