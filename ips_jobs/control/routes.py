"""The control plane over HTTP: a small JSON API under /_ips/, usable from curl, pytest and
the CLI. Open by default (a local development and CI tool, like moto's); with
IPS_CONTROL_TOKEN set, every request but /_ips/health (and the export downloads job logs
point at) needs the token, as a Bearer header or as the dashboard's cookie."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ips_jobs.control import seed
from ips_jobs.control.assets import AssetBrowser, NoFile, StoredFile, company_data
from ips_jobs.control.exports import Archive, Exports, NoExport
from ips_jobs.control.journal import FLUSH_SECONDS, Journal
from ips_jobs.control.service import UNHEALTHY, Controls, flag, only, parse_time
from ips_jobs.domain import handles
from ips_jobs.domain.validation import INT32
from ips_jobs.errors import (
    InvalidCredentials,
    InvalidParameter,
    IpsJobsError,
    NoCredentials,
    StoreError,
)

log = logging.getLogger("ips_jobs.control")

PREFIX = "/_ips"
MAX_BODY = 4 * 1024 * 1024
#: Paths open without the control token: container health checks carry none, and export
#: downloads are links that job logs hand to SOAP clients.
OPEN_PATHS = re.compile(r"/health|/exports/[0-9]+\.zip")
#: The dashboard's cookie holds this keyed digest of the token, never the token itself.
COOKIE_LABEL = b"ips-jobs dashboard"
#: Query parameters are text: a flag is exactly true or false, a number ASCII digits (int()
#: also takes '²' and other Unicode digits).
_DIGITS = re.compile(r"[0-9]{1,10}")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Headers = list[tuple[str, str]]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    content_type: str

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def args(self, *allowed: str) -> dict[str, str]:
        """The query parameters, each given at most once and each one of `allowed`: a typo
        (`?limt=5`) is an error, not a filter silently left out."""
        for name, values in sorted(self.query.items()):
            if name not in allowed:
                raise InvalidParameter(name, "unknown query parameter")
            if len(values) > 1:
                raise InvalidParameter(name, "given more than once")
        return {name: values[0] for name, values in self.query.items()}

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            data = json.loads(self.body)
        except (ValueError, RecursionError) as exc:  # also undecodable, too deep, too long
            raise InvalidParameter("body", f"not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidParameter("body", "a JSON object")
        return data


class Refused(Exception):
    """An answer other than 400 decided before routing (a body that cannot be read, a
    missing token), with its status and extra headers."""

    def __init__(self, status: int, error: str, code: int | None, headers: Headers) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.code = code
        self.headers = headers


Reply = tuple[int, Any]
Handler = Callable[[Request, re.Match[str]], Reply]
#: A route: method, path, handler, the query parameters it takes.
Route = tuple[str, re.Pattern[str], Handler, tuple[str, ...]]


class ControlApp:
    def __init__(
        self,
        controls: Controls,
        seeder: seed.Seeder,
        journal: Journal | None,
        extra: dict[str, Callable[[Request], tuple[int, str, bytes]]] | None = None,
        exports: Exports | None = None,
        assets: AssetBrowser | None = None,
        token: str = "",
        body_timeout: float = 30.0,
    ) -> None:
        self.controls = controls
        self.seeder = seeder
        self.journal = journal
        self.extra = extra or {}
        self.exports = exports or Exports(controls.repository)
        self.assets = assets
        self.token = token
        self.body_timeout = body_timeout
        self.routes: list[Route] = [
            ("GET", re.compile(r"/health"), self.health, ()),
            ("POST", re.compile(r"/reset"), self.reset, ("accounts",)),
            ("POST", re.compile(r"/seed"), self.seed, ()),
            ("GET", re.compile(r"/faults"), self.list_rules, ()),
            ("POST", re.compile(r"/faults"), self.add_rule, ()),
            ("DELETE", re.compile(r"/faults"), self.clear_rules, ()),
            ("DELETE", re.compile(r"/faults/([0-9]+)"), self.delete_rule, ()),
            ("GET", re.compile(r"/run-controls"), self.list_controls, ()),
            ("POST", re.compile(r"/run-controls"), self.add_control, ()),
            ("DELETE", re.compile(r"/run-controls"), self.clear_controls, ()),
            ("DELETE", re.compile(r"/run-controls/([0-9]+)"), self.delete_control, ()),
            ("POST", re.compile(r"/jobs/(.+)/advance"), self.advance, ()),
            ("POST", re.compile(r"/schedules/(.+)/fire"), self.fire, ()),
            (
                "GET",
                re.compile(r"/requests"),
                self.requests,
                ("operation", "since", "until", "limit"),
            ),
            ("DELETE", re.compile(r"/requests"), self.clear_requests, ()),
            ("GET", re.compile(r"/exports/([0-9]+)\.zip"), self.export, ("key",)),
            ("GET", re.compile(r"/assets"), self.list_assets, ("company", "limit", "trash")),
            ("GET", re.compile(r"/assets/([0-9]+)"), self.asset, ()),
            ("GET", re.compile(r"/assets/([0-9]+)/file"), self.asset_file, ()),
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Every answer is built before start_response is called, so that nothing can fail
        half-way through one: an unexpected error is logged once, here, and answered 500
        with a JSON body."""
        path = environ.get("PATH_INFO", "")[len(PREFIX) :] or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            status, headers, body = self._answer(environ, method, path)
        except Exception:  # the one place a control failure becomes an answer
            log.exception("unexpected error in %s %r", method, PREFIX + path)
            error = {"error": "internal error; the emulator's log has the details"}
            status, headers, body = 500, _json_headers(), _encode(error)
        start_response(_status_line(status), [*headers, ("Content-Length", str(len(body)))])
        return [body]

    def _answer(
        self, environ: dict[str, Any], method: str, path: str
    ) -> tuple[int, Headers, bytes]:
        try:
            login = self._authorize(environ, method, path)
            if login is not None:
                return login
            request = _request(environ, method, path, self.body_timeout)
            if path in self.extra:
                status, ctype, page = self.extra[path](request)
                return status, [("Content-Type", f"{ctype};charset=UTF-8")], page
            status, data = self._route(request)
            if isinstance(data, Archive):
                return 200, _archive_headers(data), data.body
            if isinstance(data, StoredFile):
                return 200, _file_headers(data), data.body
        except Refused as refused:
            error: dict[str, Any] = {"error": refused.error}
            if refused.code is not None:
                error["code"] = refused.code
            return refused.status, [*_json_headers(), *refused.headers], _encode(error)
        except StoreError as failure:
            log.warning("%s %r: %s", method, PREFIX + path, failure.message)
            status, data = 503, {"error": failure.message}
        except IpsJobsError as error:
            status, data = 400, {"error": error.message, "code": error.code}
        return status, _json_headers(), _encode(data)

    def _route(self, request: Request) -> Reply:
        allowed = []
        for method, pattern, handler, query in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                request.args(*query)
                return handler(request, match)
            allowed.append(method)
        if allowed:
            return 405, {
                "error": f"use {' or '.join(sorted(set(allowed)))} on {PREFIX}{request.path}"
            }
        return 404, {"error": f"no control at {PREFIX}{request.path}", "see": "docs/control-api.md"}

    # -- the token ------------------------------------------------------------------------
    def _authorize(
        self, environ: dict[str, Any], method: str, path: str
    ) -> tuple[int, Headers, bytes] | None:
        """Raises Refused without the token; answers the dashboard's login
        (GET /_ips/?token=...) with its cookie. None: go on."""
        if not self.token or OPEN_PATHS.fullmatch(path.rstrip("/")):
            return None
        expected = self.token.encode("utf-8")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if path.rstrip("/") == "" and method == "GET" and "token" in query:
            given = query["token"][-1].encode("utf-8")
            if not hmac.compare_digest(given, expected):
                raise _unauthorized(InvalidCredentials("the control token is wrong"))
            cookie = f"{_cookie_name(environ)}={self._cookie_value()}"
            headers = [
                ("Location", f"{PREFIX}/"),
                ("Set-Cookie", f"{cookie}; Path={PREFIX}; HttpOnly; SameSite=Lax"),
            ]
            return 303, [*_json_headers(), *headers], _encode({"login": True})
        scheme, _, credentials = environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            # WSGI hands header bytes over as Latin-1 text; the token is UTF-8 (any text)
            if hmac.compare_digest(credentials.strip().encode("latin-1", "replace"), expected):
                return None
            raise _unauthorized(InvalidCredentials("the control token is wrong"))
        cookie = _cookies(environ).get(_cookie_name(environ))
        if cookie is not None and hmac.compare_digest(
            cookie.encode("latin-1", "replace"), self._cookie_value().encode()
        ):
            if method not in ("GET", "HEAD") and not _same_origin(environ):
                raise Refused(
                    403,
                    "a change through the dashboard's cookie must come from the dashboard's "
                    "own pages (another site or port sent it); scripts send "
                    "'Authorization: Bearer <token>'",
                    None,
                    [],
                )
            return None
        raise _unauthorized(
            NoCredentials(
                f"this server's control API needs its token (IPS_CONTROL_TOKEN): send "
                f"'Authorization: Bearer <token>', or open {PREFIX}/?token=<token> once in a "
                "browser for the dashboard"
            )
        )

    def _cookie_value(self) -> str:
        return hmac.new(self.token.encode("utf-8"), COOKIE_LABEL, hashlib.sha256).hexdigest()

    # -- handlers -------------------------------------------------------------------------
    def health(self, request: Request, match: re.Match[str]) -> Reply:
        """503 while this server's engine should run and none does: a container health check
        (which reads only the status) then says unhealthy."""
        health = self.controls.health()
        return (503 if health["status"] == UNHEALTHY else 200), health

    def reset(self, request: Request, match: re.Match[str]) -> Reply:
        body = request.json()
        only(body, "accounts")
        given = [flag(body, "accounts")]
        raw = request.arg("accounts")
        if raw is not None:
            given.append(query_flag(raw, "accounts"))
        values = {value for value in given if value is not None}
        if len(values) > 1:
            raise InvalidParameter("accounts", "the query and the body disagree")
        accounts = values.pop() if values else False
        if self.journal is not None:
            # exchanges made before the reset must not land in the journal after it
            self.journal.flush()
            time.sleep(FLUSH_SECONDS * 2)  # let the other workers' batches land
        self.controls.reset(accounts)
        return 200, {"reset": True, "accounts": accounts}

    def seed(self, request: Request, match: re.Match[str]) -> Reply:
        document = seed.parse(request.body, request.content_type)
        return 200, self.seeder.apply(document).as_dict()

    def list_rules(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, [rule.as_dict() for rule in self.controls.rules()]

    def add_rule(self, request: Request, match: re.Match[str]) -> Reply:
        return 201, self.controls.add_rule(request.json()).as_dict()

    def clear_rules(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, {"deleted": self.controls.clear_rules()}

    def delete_rule(self, request: Request, match: re.Match[str]) -> Reply:
        self.controls.delete_rule(_id(match))
        return 200, {"deleted": 1}

    def list_controls(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, [control.as_dict() for control in self.controls.controls()]

    def add_control(self, request: Request, match: re.Match[str]) -> Reply:
        return 201, self.controls.add_control(request.json()).as_dict()

    def clear_controls(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, {"deleted": self.controls.clear_controls()}

    def delete_control(self, request: Request, match: re.Match[str]) -> Reply:
        self.controls.delete_control(_id(match))
        return 200, {"deleted": 1}

    def advance(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, {"runs": self.controls.advance(unquote(match[1]), request.json())}

    def fire(self, request: Request, match: re.Match[str]) -> Reply:
        only(request.json())
        self.controls.fire(unquote(match[1]))
        return 202, {"fired": unquote(match[1])}

    def requests(self, request: Request, match: re.Match[str]) -> Reply:
        raw = request.arg("limit")
        limit = 100 if raw is None else query_int(raw, "limit", 1, 10_000)
        since = parse_time(request.arg("since"), "since")
        until = parse_time(request.arg("until"), "until")
        if self.journal is not None:
            self.journal.flush()
            time.sleep(FLUSH_SECONDS * 2)  # let the other workers' batches land
        return 200, self.controls.requests(request.arg("operation"), since, until, limit)

    def list_assets(self, request: Request, match: re.Match[str]) -> Reply:
        browser = self._asset_browser()
        raw_limit, company = request.arg("limit"), request.arg("company")
        listed = browser.companies(
            None if company is None else handles.parse_company(company, "company"),
            50 if raw_limit is None else query_int(raw_limit, "limit", 1, 1000),
            query_flag(request.arg("trash") or "false", "trash"),
        )
        return 200, [company_data(one) for one in listed]

    def asset(self, request: Request, match: re.Match[str]) -> Reply:
        found = self._asset_browser().asset(_id(match))
        if found is None:
            return 404, {"error": f"no asset a|{match[1]}"}
        return 200, found

    def asset_file(self, request: Request, match: re.Match[str]) -> Reply:
        """The asset's stored file, for the dashboard's thumbnails and for tests: not JSON."""
        try:
            return 200, self._asset_browser().file(_id(match))
        except NoFile as missing:
            return 404, {"error": missing.message}

    def _asset_browser(self) -> AssetBrowser:
        if self.assets is None:
            raise Refused(404, "this server keeps no assets", None, [])
        return self.assets

    def clear_requests(self, request: Request, match: re.Match[str]) -> Reply:
        if self.journal is not None:
            self.journal.flush()
        return 200, {"deleted": self.controls.clear_requests()}

    def export(self, request: Request, match: re.Match[str]) -> Reply:
        """The download URL an exportJob run wrote in its log: a ZIP, not JSON."""
        if len(match[1]) > 10 or int(match[1]) not in INT32:
            return 404, {"error": f"no run {match[1]}"}
        try:
            return 200, self.exports.archive(int(match[1]), request.arg("key") or "")
        except NoExport as missing:
            return 404, {"error": f"no export at {PREFIX}{request.path}: {missing.message}"}


def query_flag(raw: str, name: str) -> bool:
    """A query string's boolean: exactly `true` or `false` (not 1, yes or False)."""
    if raw in ("true", "false"):
        return raw == "true"
    raise InvalidParameter(name, "expected true or false")


def query_int(raw: str, name: str, low: int, high: int) -> int:
    """A query string's integer: ASCII digits only, from `low` to `high`."""
    if _DIGITS.fullmatch(raw) is None or not low <= int(raw) <= high:
        raise InvalidParameter(name, f"an integer from {low} to {high}")
    return int(raw)


def exposure_warning(host: str, token: str) -> str | None:
    """The warning for serve's ready line when anyone who reaches the port may reset the
    database: the server listens beyond loopback and IPS_CONTROL_TOKEN is not set."""
    if token or _loopback(host):
        return None
    shown = f"[{host}]" if ":" in host else host or "every address"
    return (
        f"the control API ({PREFIX}/: reset, seed, fault rules, the dashboard) is open to "
        f"anyone who can reach {shown}: set IPS_CONTROL_TOKEN (--control-token) to require a "
        "token, or listen on 127.0.0.1"
    )


def _loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name (it may resolve to any address), or "" (all of them)
        return False


def _unauthorized(error: IpsJobsError) -> Refused:
    challenge = 'Bearer realm="ips-jobs control"'
    if isinstance(error, InvalidCredentials):
        challenge += ', error="invalid_token"'
    return Refused(401, error.message, error.code, [("WWW-Authenticate", challenge)])


def _cookie_name(environ: dict[str, Any]) -> str:
    """Browsers keep cookies per host, not per port: each server's name carries its port."""
    host = environ.get("HTTP_HOST") or ""
    port = host.rpartition(":")[2] if not host.endswith("]") and ":" in host else ""
    return f"ips_control_{port or environ.get('SERVER_PORT') or 'default'}"


def _same_origin(environ: dict[str, Any]) -> bool:
    """Whether a browser sent the request from this server's own pages. The cookie is
    SameSite=Lax, yet another port of the same host counts as the same site: a page of any
    local dev server could otherwise post here with it. A client that sends neither header
    is no browser, and cannot have been led to send the cookie."""
    site = environ.get("HTTP_SEC_FETCH_SITE")
    if site is not None:
        return site in ("same-origin", "none")
    origin = environ.get("HTTP_ORIGIN")
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == environ.get("HTTP_HOST", "").lower()


def _cookies(environ: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in environ.get("HTTP_COOKIE", "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            found.setdefault(name, value.strip().strip('"'))
    return found


def _id(match: re.Match[str]) -> int:
    if len(match[1]) > 10 or int(match[1]) not in INT32:
        raise InvalidParameter("id", f"no such id {match[1]}")
    return int(match[1])


def _request(environ: dict[str, Any], method: str, path: str, timeout: float) -> Request:
    return Request(
        method,
        path.rstrip("/") or "/",
        parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        _body(environ, timeout),
        environ.get("CONTENT_TYPE", ""),
    )


def _body(environ: dict[str, Any], timeout: float) -> bytes:
    """The request body, which the server has read whole (asgi_bridge.py): a body that
    stopped arriving for `timeout` seconds is a 408."""
    length = int(environ.get("CONTENT_LENGTH") or 0)  # the server has checked it is a number
    if length > MAX_BODY:
        raise InvalidParameter("body", f"at most {MAX_BODY} bytes")
    if not length and "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    try:
        body: bytes = environ["wsgi.input"].read(length if length else MAX_BODY + 1)
    except TimeoutError:
        raise Refused(
            408, f"the request body did not arrive within {timeout:g} s", None, []
        ) from None
    if len(body) > MAX_BODY:
        raise InvalidParameter("body", f"at most {MAX_BODY} bytes")
    return body


def _json_headers() -> Headers:
    return [("Content-Type", "application/json;charset=UTF-8")]


def _encode(data: Any) -> bytes:
    return json.dumps(data, indent=1, default=str).encode()


def _archive_headers(archive: Archive) -> Headers:
    return [
        ("Content-Type", "application/zip"),
        ("Content-Disposition", f'attachment; filename="{archive.filename}"'),
    ]


def _file_headers(stored: StoredFile) -> Headers:
    """Shown in place (an <img>, a browser tab) under its file name, and never run: a stored
    SVG or HTML file must not run script in the dashboard's origin."""
    fallback = "".join(c if " " <= c < "\x7f" and c not in '"\\' else "_" for c in stored.file_name)
    return [
        ("Content-Type", stored.content_type),
        (
            "Content-Disposition",
            f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(stored.file_name, safe='')}",
        ),
        ("Content-Security-Policy", "default-src 'none'; sandbox"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:  # a page's own status: it must not fail after the answer is built
        return f"{status} Status"
