"""The WSGI application: routes SOAP posts to the dispatcher and serves the WSDL files."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import quoteattr

from ips_jobs import __version__
from ips_jobs.asgi_bridge import ABORT_KEY
from ips_jobs.errors import IpsJobsError
from ips_jobs.wire import auth
from ips_jobs.wire.auth import Credentials
from ips_jobs.wire.bare import BARE_PATH, from_envelope, to_envelope
from ips_jobs.wire.namespaces import SOAP11_NS, SOAP12_NS, VERSIONS
from ips_jobs.wire.soap import MAX_REASON_CHARS, Dispatcher, Outcome, clip
from ips_jobs.wire.upload_file import UPLOAD_PATH, BadPost, read_post

log = logging.getLogger("ips_jobs.requests")

SERVICE_PATH = "/scene7/services/IpsApiService"
CONTROL_PREFIX = "/_ips"
PLACEHOLDER_LOCATION = 'location="http://localhost:8080/scene7/services/IpsApiService"'
#: IPS's WSDL servlet is under webservice/; some clients load /scene7/IpsApi-<version>.wsdl.
_WSDL_PATH = re.compile(r"/scene7/(?:webservice/)?IpsApi(?:-(?P<version>[0-9a-z-]+))?\.wsdl")
_XML_TYPES = ("text/xml", "application/soap+xml", "application/xml")
#: `?wsdl` on the service answers with the newest schema.
DEFAULT_WSDL_VERSION = "2022-11-01-beta"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Recorder(Protocol):
    def __call__(
        self, body: bytes, outcome: Outcome, started: datetime, seconds: float, transport: str
    ) -> None:
        """Called after every SOAP exchange (the request journal, metrics); `transport` is
        "SOAP 1.1", "SOAP 1.2", "XML" (AEM's envelope-less transport) or "UploadFile"."""
        ...


class WsgiApp:
    def __init__(
        self,
        dispatcher: Dispatcher,
        wsdl_dir: Path,
        max_body_bytes: int,
        body_timeout: float = 30.0,
        control: Callable[[dict[str, Any], StartResponse], Iterable[bytes]] | None = None,
        recorders: Sequence[Recorder] = (),
        max_upload_bytes: int | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.max_body_bytes = max_body_bytes
        #: The largest UploadFile body (its files and documents together).
        self.max_upload_bytes = max_upload_bytes or max_body_bytes
        self.body_timeout = body_timeout
        self.control = control
        self.recorders = recorders
        self.wsdl: dict[str | None, str] = {
            version: (wsdl_dir / _wsdl_name(version)).read_text("utf-8")
            for version in (None, *VERSIONS)
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SERVICE_PATH:
            if method == "POST":
                return self._soap(environ, start_response)
            if method in ("GET", "HEAD") and "wsdl" in _query(environ):
                return self._wsdl(environ, start_response, DEFAULT_WSDL_VERSION)
            return _text(
                start_response,
                "405 Method Not Allowed",
                "POST SOAP requests here; GET ?wsdl for the WSDL.\n",
                [("Allow", "POST")],
            )
        if path == BARE_PATH:
            if method == "POST":
                return self._soap(environ, start_response, bare=True)
            return _text(
                start_response,
                "405 Method Not Allowed",
                "POST a bare <Request> (authHeader and one operation's Param) here.\n",
                [("Allow", "POST")],
            )
        if path == UPLOAD_PATH:
            if method == "POST":
                return self._upload_file(environ, start_response)
            return _text(
                start_response,
                "405 Method Not Allowed",
                "POST multipart/form-data here: parts auth (an authHeader document), "
                "uploadParams (an uploadPostParam document) and the files.\n",
                [("Allow", "POST")],
            )
        if match := _WSDL_PATH.fullmatch(path):
            version = match["version"]
            if version is not None and version not in VERSIONS:
                return _text(start_response, "404 Not Found", f"No WSDL for version {version}.\n")
            return self._wsdl(environ, start_response, version)
        if self.control is not None and (
            path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
        ):
            return self.control(environ, start_response)
        if path in ("", "/"):
            return _text(start_response, "200 OK", _welcome(environ))
        return _text(start_response, "404 Not Found", f"Nothing at {path}. {_hint()}\n")

    def _soap(
        self, environ: dict[str, Any], start_response: StartResponse, bare: bool = False
    ) -> Iterable[bytes]:
        """A SOAP call; `bare`: the same call without its envelope (wire/bare.py)."""
        started = time.perf_counter()
        started_at = datetime.now(UTC)
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in _XML_TYPES:
            return _text(
                start_response,
                "415 Unsupported Media Type",
                f"Send SOAP as Content-Type: text/xml (SOAP 1.1) or application/soap+xml "
                f"(SOAP 1.2), not {content_type or 'nothing'}.\n",
            )
        soap_ns = SOAP12_NS if content_type == "application/soap+xml" and not bare else SOAP11_NS
        try:
            received = self._body(environ)
        except TimeoutError:
            received, outcome = None, self.dispatcher.body_stalled(soap_ns, self.body_timeout)
        else:
            outcome = (
                self.dispatcher.too_large(soap_ns, self.max_body_bytes)
                if received is None
                else self._dispatch(received, soap_ns, environ, bare)
            )
        transport = "XML" if bare else "SOAP 1.2" if soap_ns == SOAP12_NS else "SOAP 1.1"
        return self._answer(
            environ,
            start_response,
            received or b"",
            outcome,
            bare,
            (started, started_at),
            transport,
        )

    def _upload_file(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """An UploadFile post (wire/upload_file.py): answered as the bare transport is."""
        started = time.perf_counter(), datetime.now(UTC)
        shown = b""
        length = _content_length(environ)
        if length is not None and length > self.max_upload_bytes:
            outcome = self.dispatcher.too_large(SOAP11_NS, self.max_upload_bytes)
        else:
            try:
                post = read_post(environ)
            except TimeoutError:
                outcome = self.dispatcher.body_stalled(SOAP11_NS, self.body_timeout)
            except BadPost as bad:
                creds = auth.read(bad.headers, environ)
                outcome = self.dispatcher.fault(bad.error, SOAP11_NS, None, creds)
            else:
                try:
                    shown = post.shown
                    outcome = self.dispatcher.dispatch(
                        post.envelope, SOAP11_NS, environ, files=post.files
                    )
                finally:
                    post.close()
        return self._answer(environ, start_response, shown, outcome, True, started, "UploadFile")

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        body: bytes,
        outcome: Outcome,
        bare: bool,
        started: tuple[float, datetime],
        transport: str,
    ) -> Iterable[bytes]:
        """Logs and records the exchange, then answers it (`bare`: the payload alone)."""
        if bare and not (outcome.plain or outcome.drop):
            outcome = replace(outcome, body=from_envelope(outcome.body))
        _log(outcome, started[0])
        for record in self.recorders:
            record(body, outcome, started[1], time.perf_counter() - started[0], transport)
        if outcome.drop:
            return _drop(environ, start_response)
        ctype = "application/soap+xml" if outcome.soap_ns == SOAP12_NS else "text/xml"
        if outcome.plain:
            ctype = "text/plain"
        start_response(
            _status_line(outcome.status),
            [
                ("Content-Type", f"{ctype};charset=UTF-8"),
                ("Content-Length", str(len(outcome.body))),
            ],
        )
        return [outcome.body]

    def _dispatch(
        self, received: bytes, soap_ns: str, environ: dict[str, Any], bare: bool
    ) -> Outcome:
        if not bare:
            return self.dispatcher.dispatch(received, soap_ns, environ)
        try:
            wrapped = to_envelope(received)
        except IpsJobsError as error:
            return self.dispatcher.fault(error, soap_ns, None, Credentials())
        return self.dispatcher.dispatch(wrapped, soap_ns, environ)

    def _body(self, environ: dict[str, Any]) -> bytes | None:
        """The request body; None when it is over the limit. TimeoutError when it stopped
        arriving (the server has read it by its deadline: asgi_bridge.py)."""
        length = _content_length(environ)
        if length is not None and length > self.max_body_bytes:
            return None
        body: bytes = environ["wsgi.input"].read(
            self.max_body_bytes + 1 if length is None else length
        )
        return None if len(body) > self.max_body_bytes else body

    def _wsdl(
        self, environ: dict[str, Any], start_response: StartResponse, version: str | None
    ) -> Iterable[bytes]:
        address = _service_address(environ)
        if address is None:
            return _text(start_response, "400 Bad Request", "serviceUrl must be an http(s) URL.\n")
        body = self.wsdl[version].replace(PLACEHOLDER_LOCATION, f"location={quoteattr(address)}")
        data = body.encode("utf-8")
        start_response(
            "200 OK",
            [("Content-Type", "text/xml;charset=UTF-8"), ("Content-Length", str(len(data)))],
        )
        return [data]


def _drop(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """A fault rule's dropped connection: the server closes it and answers nothing (a server
    that cannot drop connections answers an empty 500 and closes)."""
    abort = environ.get(ABORT_KEY)
    if abort is not None:
        abort()
    start_response("500 Internal Server Error", [("Content-Length", "0"), ("Connection", "close")])
    return []


def _wsdl_name(version: str | None) -> str:
    return "IpsApi.wsdl" if version is None else f"IpsApi-{version}.wsdl"


def _query(environ: dict[str, Any]) -> dict[str, list[str]]:
    return parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def _service_address(environ: dict[str, Any]) -> str | None:
    """`?serviceUrl=` rewrites the address, as IPS does; a bare host gets the service path."""
    given = _query(environ).get("serviceUrl")
    if given:
        try:
            parts = urlsplit(given[0])
        except ValueError:  # e.g. an unclosed IPv6 bracket
            return None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        if parts.path in ("", "/"):
            return f"{parts.scheme}://{parts.netloc}{SERVICE_PATH}"
        return given[0]
    return f"{_base_url(environ)}{SERVICE_PATH}"


def _base_url(environ: dict[str, Any]) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return f"{scheme}://{host}"


def _content_length(environ: dict[str, Any]) -> int | None:
    raw = environ.get("CONTENT_LENGTH")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _status_line(status: int) -> str:
    from http import HTTPStatus

    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Status"


def _text(
    start_response: StartResponse,
    status: str,
    text: str,
    extra: list[tuple[str, str]] | None = None,
) -> Iterable[bytes]:
    data = text.encode("utf-8")
    headers = [("Content-Type", "text/plain;charset=UTF-8"), ("Content-Length", str(len(data)))]
    start_response(status, headers + (extra or []))
    return [data]


def _hint() -> str:
    return f"The SOAP endpoint is {SERVICE_PATH}; WSDLs are at /scene7/webservice/IpsApi.wsdl."


def _welcome(environ: dict[str, Any]) -> str:
    base = _base_url(environ)
    return (
        f"ips-jobs {__version__}: an emulator of the Adobe Scene7 IPS job API.\n"
        f"SOAP endpoint: {base}{SERVICE_PATH}\n"
        f"AEM transport: {base}{BARE_PATH} (a bare <Request>, no envelope)\n"
        f"Upload files:  {base}{UPLOAD_PATH} (multipart: auth, uploadParams, files)\n"
        f"WSDL:          {base}{SERVICE_PATH}?wsdl\n"
        f"Per version:   {base}/scene7/webservice/IpsApi-<version>.wsdl "
        f"({', '.join(VERSIONS)}) and IpsApi.wsdl (also without webservice/)\n"
        f"Dashboard:     {base}{CONTROL_PREFIX}/ (and the control API for tests under it)\n"
    )


def _log(outcome: Outcome, started: float) -> None:
    """One line per call. What the request named is cut (a `<user>` may be a megabyte) and
    its control characters escaped (a `<user>` with a newline would forge a line)."""
    elapsed = (time.perf_counter() - started) * 1000
    user = _plain(clip(outcome.user)) or "-"
    operation = _plain(clip(outcome.operation))
    if outcome.fault_code is None:
        log.info("%s by %s: ok in %.1f ms", operation, user, elapsed)
    else:
        log.info(
            "%s by %s: fault %s (%s) in %.1f ms",
            operation or "?",
            user,
            outcome.fault_code,
            _plain(clip(outcome.fault_reason, MAX_REASON_CHARS)),
            elapsed,
        )


#: C0 and C1 control characters and the Unicode line separators, written as escapes.
_CONTROLS = {
    code: f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}


def _plain(text: str | None) -> str | None:
    if text is None or text.isprintable():  # the usual case, and the fast one
        return text
    return text.translate(_CONTROLS)
