"""The control plane over HTTP: a small JSON API under /_ips/, usable from curl, pytest and
the CLI. No authentication: it is a local development and CI tool, like moto's."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from ips_jobs.control import seed
from ips_jobs.control.exports import Archive, Exports, NoExport
from ips_jobs.control.journal import FLUSH_SECONDS, Journal
from ips_jobs.control.service import Controls, parse_time
from ips_jobs.domain.validation import INT32
from ips_jobs.errors import InvalidParameter, IpsJobsError, StoreError

log = logging.getLogger("ips_jobs.control")

PREFIX = "/_ips"
MAX_BODY = 4 * 1024 * 1024

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


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


Reply = tuple[int, Any]
Handler = Callable[[Request, re.Match[str]], Reply]


class ControlApp:
    def __init__(
        self,
        controls: Controls,
        seeder: seed.Seeder,
        journal: Journal | None,
        extra: dict[str, Callable[[Request], tuple[int, str, bytes]]] | None = None,
        exports: Exports | None = None,
    ) -> None:
        self.controls = controls
        self.seeder = seeder
        self.journal = journal
        self.extra = extra or {}
        self.exports = exports or Exports(controls.repository)
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/health"), self.health),
            ("POST", re.compile(r"/reset"), self.reset),
            ("POST", re.compile(r"/seed"), self.seed),
            (
                "GET",
                re.compile(r"/faults"),
                lambda r, m: (200, [x.as_dict() for x in self.controls.rules()]),
            ),
            (
                "POST",
                re.compile(r"/faults"),
                lambda r, m: (201, self.controls.add_rule(r.json()).as_dict()),
            ),
            (
                "DELETE",
                re.compile(r"/faults"),
                lambda r, m: (200, {"deleted": self.controls.clear_rules()}),
            ),
            ("DELETE", re.compile(r"/faults/(\d+)"), self.delete_rule),
            (
                "GET",
                re.compile(r"/run-controls"),
                lambda r, m: (200, [c.as_dict() for c in self.controls.controls()]),
            ),
            (
                "POST",
                re.compile(r"/run-controls"),
                lambda r, m: (201, self.controls.add_control(r.json()).as_dict()),
            ),
            (
                "DELETE",
                re.compile(r"/run-controls"),
                lambda r, m: (200, {"deleted": self.controls.clear_controls()}),
            ),
            ("DELETE", re.compile(r"/run-controls/(\d+)"), self.delete_control),
            ("POST", re.compile(r"/jobs/(.+)/advance"), self.advance),
            ("POST", re.compile(r"/schedules/(.+)/fire"), self.fire),
            ("GET", re.compile(r"/requests"), self.requests),
            ("DELETE", re.compile(r"/requests"), self.clear_requests),
            ("GET", re.compile(r"/exports/(\d+)\.zip"), self.export),
        ]

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")[len(PREFIX) :] or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            request = _request(environ, method, path)
            if path in self.extra:
                status, ctype, body = self.extra[path](request)
                return _send(start_response, status, ctype, body)
            status, data = self._route(request)
            if isinstance(data, Archive):
                return _send_archive(start_response, data)
        except StoreError as error:
            status, data = 503, {"error": error.message}
        except IpsJobsError as error:
            status, data = 400, {"error": error.message, "code": error.code}
        except Exception:  # the one place a control failure becomes an answer
            log.exception("unexpected error in %s %s%s", method, PREFIX, path)
            status, data = 500, {"error": "internal error; the emulator's log has the details"}
        return _send(
            start_response,
            status,
            "application/json",
            json.dumps(data, indent=1, default=str).encode(),
        )

    def _route(self, request: Request) -> Reply:
        allowed = []
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method == request.method:
                return handler(request, match)
            allowed.append(method)
        if allowed:
            return 405, {
                "error": f"use {' or '.join(sorted(set(allowed)))} on {PREFIX}{request.path}"
            }
        return 404, {"error": f"no control at {PREFIX}{request.path}", "see": "docs/control-api.md"}

    # -- handlers -------------------------------------------------------------------------
    def health(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, self.controls.health()

    def reset(self, request: Request, match: re.Match[str]) -> Reply:
        accounts = request.arg("accounts") in ("1", "true", "yes") or bool(
            request.json().get("accounts", False)
        )
        if self.journal is not None:
            # exchanges made before the reset must not land in the journal after it
            self.journal.flush()
            time.sleep(FLUSH_SECONDS * 2)  # let the other workers' batches land
        self.controls.reset(accounts)
        return 200, {"reset": True, "accounts": accounts}

    def seed(self, request: Request, match: re.Match[str]) -> Reply:
        document = seed.parse(request.body, request.content_type)
        return 200, self.seeder.apply(document).as_dict()

    def delete_rule(self, request: Request, match: re.Match[str]) -> Reply:
        self.controls.delete_rule(_id(match))
        return 200, {"deleted": 1}

    def delete_control(self, request: Request, match: re.Match[str]) -> Reply:
        self.controls.delete_control(_id(match))
        return 200, {"deleted": 1}

    def advance(self, request: Request, match: re.Match[str]) -> Reply:
        return 200, {"runs": self.controls.advance(unquote(match[1]), request.json())}

    def fire(self, request: Request, match: re.Match[str]) -> Reply:
        self.controls.fire(unquote(match[1]))
        return 202, {"fired": unquote(match[1])}

    def requests(self, request: Request, match: re.Match[str]) -> Reply:
        if self.journal is not None:
            self.journal.flush()
            time.sleep(FLUSH_SECONDS * 2)  # let the other workers' batches land
        limit = request.arg("limit") or "100"
        if not limit.isdigit() or not 1 <= int(limit) <= 10_000:
            raise InvalidParameter("limit", "an integer from 1 to 10000")
        return 200, self.controls.requests(
            request.arg("operation"),
            parse_time(request.arg("since"), "since"),
            parse_time(request.arg("until"), "until"),
            int(limit),
        )

    def clear_requests(self, request: Request, match: re.Match[str]) -> Reply:
        if self.journal is not None:
            self.journal.flush()
        return 200, {"deleted": self.controls.clear_requests()}

    def export(self, request: Request, match: re.Match[str]) -> Reply:
        """The download URL an exportJob run wrote in its log: a ZIP, not JSON."""
        run_id = int(match[1])
        if run_id not in INT32:
            return 404, {"error": f"no run {run_id}"}
        try:
            return 200, self.exports.archive(run_id)
        except NoExport as missing:
            return 404, {"error": f"no export at {PREFIX}{request.path}: {missing.message}"}


def _id(match: re.Match[str]) -> int:
    value = int(match[1])
    if value not in INT32:
        raise InvalidParameter("id", f"no such id {value}")
    return value


def _request(environ: dict[str, Any], method: str, path: str) -> Request:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY:
        raise InvalidParameter("body", f"at most {MAX_BODY} bytes")
    body = environ["wsgi.input"].read(length) if length else b""
    return Request(
        method,
        path.rstrip("/") or "/",
        parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        body,
        environ.get("CONTENT_TYPE", ""),
    )


def _send_archive(start_response: StartResponse, archive: Archive) -> Iterable[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/zip"),
            ("Content-Length", str(len(archive.body))),
            ("Content-Disposition", f'attachment; filename="{archive.filename}"'),
        ],
    )
    return [archive.body]


def _send(start_response: StartResponse, status: int, ctype: str, body: bytes) -> Iterable[bytes]:
    from http import HTTPStatus

    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", f"{ctype};charset=UTF-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
