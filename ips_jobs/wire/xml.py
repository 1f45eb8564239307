"""Hardened XML parsing: no DTDs, no entities, no network, bounded size."""

from __future__ import annotations

import threading

from lxml import etree

from ips_jobs.errors import InvalidRequestXml

_local = threading.local()


def _parser() -> etree.XMLParser:
    """lxml parsers must not be shared between threads: one per thread."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
        )
        _local.parser = parser
    return parser


def parse(body: bytes) -> etree._Element:
    """Parses a request document, refusing DOCTYPEs (and so every entity trick) outright."""
    if not body.strip():
        raise InvalidRequestXml("The request body is empty")
    if b"<!DOCTYPE" in body or b"<!doctype" in body or b"<!ENTITY" in body:
        raise InvalidRequestXml("DOCTYPE and entity declarations are not allowed")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidRequestXml(f"The request is not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise InvalidRequestXml("DOCTYPE and entity declarations are not allowed")
    return root
