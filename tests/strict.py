"""A strict client for the tests: reads every answer the way Apache Axis2 ADB stubs (and zeep
in its default strict mode) do, against the types the WSDL of the answer's own version
declares: only the declared child elements, in the declared order, the required ones present,
each of its type. An answer that breaks the rules is an AssertionError in the test that got it.

Every answer the tests get from an ips-jobs server over `requests` (raw SOAP, zeep, the bare
and UploadFile transports) is checked (tests/conftest.py installs the check). Each distinct
read-only SOAP request is also sent again in each of REPLAYED namespaces and those answers are
checked too, so the whole suite's queries are read as the old stubs read them. A module that
counts what the server sees (its journal, its metrics, its fault rules' hits) opts out of the
replays with `pytestmark = pytest.mark.no_replay`.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from lxml import etree
from requests.adapters import HTTPAdapter

from ips_jobs.resources import wsdl_folder
from ips_jobs.wire.namespaces import VERSION_BY_NS, payload_ns

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
XSD = "http://www.w3.org/2001/XMLSchema"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
SERVICE_PATH = "/scene7/services/IpsApiService"
ANSWERING_PATHS = (SERVICE_PATH, "/scene7/api/IpsApiService", "/scene7/UploadFile")
#: The namespaces every read-only request is replayed in (the issue's list).
REPLAYED: tuple[str | None, ...] = (
    None,
    "2010-01-31",
    "2012-02-14",
    "2014-04-03",
    "2016-01-14-beta",
)
READ_ONLY_PREFIXES = ("get", "search", "check")


class StrictFailure(AssertionError):
    """An answer a strict stub of its version could not read."""


@functools.cache
def _schemas(version: str | None) -> dict[str, etree.XMLSchema]:
    """Namespace -> a validator of the inline schemas of the version's WSDL file."""
    name = "IpsApi.wsdl" if version is None else f"IpsApi-{version}.wsdl"
    root = etree.parse(str(wsdl_folder() / name)).getroot()
    found = {}
    for schema in root.iterfind(f"{{{WSDL}}}types/{{{XSD}}}schema"):
        found[schema.get("targetNamespace", "")] = etree.XMLSchema(
            etree.fromstring(etree.tostring(schema))
        )
    return found


_lock = threading.Lock()


def check_payload(payload: etree._Element) -> None:
    """Checks one `<op>Return` or fault element against its namespace's version."""
    namespace = etree.QName(payload).namespace or ""
    if namespace not in VERSION_BY_NS:
        raise StrictFailure(f"an answer in an unknown namespace: {namespace!r}")
    # a fault element is in the common namespace, which the legacy WSDL's one schema holds
    version = VERSION_BY_NS[namespace]
    validator = _schemas(version)[namespace]
    alone = etree.fromstring(etree.tostring(payload))
    with _lock:  # a validator's error log is its own: one check at a time
        if not validator.validate(alone):
            errors = "; ".join(f"line {e.line}: {e.message}" for e in validator.error_log)
            raise StrictFailure(
                f"a strict {version or 'unversioned'} client cannot read this "
                f"<{etree.QName(payload).localname}>: {errors}\n"
                f"{etree.tostring(alone)[:1500]!r}"
            )


def payload_of(content: bytes, path: str) -> etree._Element | None:
    """The payload of an answer: the Body's element (a fault's detail element), or the root
    of a bare answer; None for an answer that is no XML document (a plain-text one)."""
    try:
        root = etree.fromstring(content)
    except etree.XMLSyntaxError:
        return None
    if etree.QName(root).namespace not in (SOAP11, SOAP12):
        return root if path != SERVICE_PATH else None
    body = root[-1]
    payload = body[0]
    if etree.QName(payload).localname == "Fault":
        detail = payload.find("detail")
        if detail is None:
            detail = payload.find(f"{{{SOAP12}}}Detail")
        if detail is None or not len(detail):
            return None
        return detail[0]
    return payload


def _replays(body: bytes) -> list[bytes]:
    """The request in each REPLAYED namespace, for a read-only operation in a versioned one."""
    try:
        root = etree.fromstring(body)
        payload = root[-1][0]
    except (etree.XMLSyntaxError, IndexError):
        return []
    namespace = etree.QName(payload).namespace or ""
    operation = etree.QName(payload).localname
    if VERSION_BY_NS.get(namespace, None) is None or not operation.startswith(READ_ONLY_PREFIXES):
        return []
    own = namespace.encode()
    return [
        body.replace(own, payload_ns(version).encode())
        for version in REPLAYED
        if payload_ns(version) != namespace
    ]


class Checker:
    """Wraps HTTPAdapter.send: checks every answer, and replays read-only requests."""

    def __init__(self) -> None:
        self.replaying = True
        self._seen: set[bytes] = set()
        self._original: Callable[..., requests.Response] = HTTPAdapter.send

    def install(self) -> None:
        checker = self

        def send(adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
            response = checker._original(adapter, request, **kwargs)
            checker.observe(adapter, request, response, kwargs)
            return response

        HTTPAdapter.send = send  # type: ignore[method-assign]

    def uninstall(self) -> None:
        HTTPAdapter.send = self._original  # type: ignore[method-assign]

    def observe(
        self,
        adapter: HTTPAdapter,
        request: requests.PreparedRequest,
        response: requests.Response,
        kwargs: dict[str, Any],
    ) -> None:
        path = urlsplit(request.url or "").path
        if request.method != "POST" or path not in ANSWERING_PATHS:
            return
        if not response.headers.get("Content-Type", "").startswith(
            ("text/xml", "application/soap+xml")
        ):
            return
        payload = payload_of(response.content, path)
        if payload is None:
            return
        check_payload(payload)
        body = request.body if isinstance(request.body, bytes) else None
        if (
            not self.replaying
            or path != SERVICE_PATH
            or body is None
            or response.status_code != 200
        ):
            return
        digest = hashlib.sha256(body).digest()
        if digest in self._seen:
            return
        self._seen.add(digest)
        for replay in _replays(body):
            again = request.copy()
            again.prepare_body(replay, None)
            try:
                answer = self._original(adapter, again, **kwargs)
            except requests.RequestException:
                continue
            if answer.headers.get("Content-Type", "").startswith("text/xml"):
                found = payload_of(answer.content, path)
                if found is not None:
                    check_payload(found)
