"""The floor for benchmarks/soap_throughput.py: the least a SOAP submitJob endpoint can do.

A bare WSGI app that reads the request body, parses it with ips_jobs' own hardened lxml
parse (ips_jobs.wire.xml.parse: same parser settings, one parser per thread), finds the
jobName and answers a fixed submitJobReturn envelope. No authentication, no schema
validation, no database.

Serve it exactly like ips-jobs is served (same worker class, workers and threads):

    IPS_THREADS=8 python -m gunicorn -k ips_jobs.server.HttpWorker -w 2 --keep-alive 30 \
        -b 127.0.0.1:8081 benchmarks.bare_handler:asgi
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from ips_jobs.asgi_bridge import WsgiBridge
from ips_jobs.errors import InvalidRequestXml
from ips_jobs.wire.xml import parse

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

JOB_NAME_TAG = "{*}jobName"

RESPONSE = (
    b"<?xml version='1.0' encoding='UTF-8'?>"
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<submitJobReturn xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03">'
    b"<jobHandle>j|1|bare||</jobHandle>"
    b"</submitJobReturn>"
    b"</soapenv:Body>"
    b"</soapenv:Envelope>"
)
_RESPONSE_HEADERS = [
    ("Content-Type", "text/xml;charset=UTF-8"),
    ("Content-Length", str(len(RESPONSE))),
]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("REQUEST_METHOD") != "POST":
        return _text(start_response, "200 OK", b"bare lxml handler\n")
    job_name = read_job_name(environ)
    if not job_name:
        return not_a_submit_job(start_response)
    return answer(start_response)


def read_job_name(environ: dict[str, Any]) -> str | None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    try:
        return parse(body).findtext(f".//{JOB_NAME_TAG}")
    except InvalidRequestXml:
        return None


def answer(start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", list(_RESPONSE_HEADERS))
    return [RESPONSE]


def not_a_submit_job(start_response: StartResponse) -> Iterable[bytes]:
    return _text(start_response, "400 Bad Request", b"not a submitJob envelope\n")


def _text(start_response: StartResponse, status: str, text: bytes) -> Iterable[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))])
    return [text]


def bridged(wsgi: Any) -> WsgiBridge:
    """`wsgi` as ips-jobs serves its app: read by uvicorn workers, run on the bridge's thread
    pool (IPS_THREADS threads): `python -m gunicorn -k ips_jobs.server.HttpWorker ...:asgi`."""
    return WsgiBridge(
        wsgi,
        threads=int(os.environ.get("IPS_THREADS", "8")),
        max_body_bytes=10 * 1024 * 1024,
        body_timeout=30.0,
    )


asgi = bridged(app)
