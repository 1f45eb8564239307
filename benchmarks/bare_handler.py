"""The floor for benchmarks/soap_throughput.py: the least a SOAP submitJob endpoint can do.

A bare WSGI app that reads the request body, parses it with ips_jobs' own hardened lxml
parse (ips_jobs.wire.xml.parse: same parser settings, one parser per thread), finds the
jobName and answers a fixed submitJobReturn envelope. No authentication, no schema
validation, no database.

Serve it exactly like ips-jobs is served (gthread workers, same workers/threads):

    python -m gunicorn -k gthread -w 2 --threads 8 --keep-alive 30 \
        -b 127.0.0.1:8081 benchmarks.bare_handler:app
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

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
        text = b"bare lxml handler\n"
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))]
        )
        return [text]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    try:
        job_name = parse(body).findtext(f".//{JOB_NAME_TAG}")
    except InvalidRequestXml:
        job_name = None
    if not job_name:
        text = b"not a submitJob envelope\n"
        start_response(
            "400 Bad Request",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(text)))],
        )
        return [text]
    start_response("200 OK", list(_RESPONSE_HEADERS))
    return [RESPONSE]
