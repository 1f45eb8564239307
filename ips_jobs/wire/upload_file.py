"""The UploadFile servlet of desktop and browser uploads: POST /scene7/UploadFile with a
multipart/form-data body whose part `auth` is an authHeader document, part `uploadParams` an
uploadPostParam document, and every part with a filename a file. The two documents become an
uploadPost call that goes through the same Dispatcher as every SOAP call; the answer is the
bare `<uploadPostReturn>`, or the bare fault element (wire/bare.py)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

import multipart
from lxml import etree

from ips_jobs.domain.upload_posts import IncomingFile
from ips_jobs.errors import InvalidRequestXml
from ips_jobs.wire import xml
from ips_jobs.wire.bare import wrap

UPLOAD_PATH = "/scene7/UploadFile"
#: The most parts a post may have (the two documents and the files).
MAX_PARTS = 1000
#: The largest auth or uploadParams document: both are a few hundred bytes.
MAX_DOCUMENT_BYTES = 1024 * 1024
#: A part's bytes past this go to a temporary file (the body itself is spooled already).
_SPOOL_BYTES = 256 * 1024
_CHUNK = 64 * 1024


@dataclass
class ServletPost:
    """A post read: the uploadPost call's envelope, what the journal shows of it (the two
    documents in a bare `<Request>`), and its files. close() frees the parts' files."""

    envelope: bytes
    shown: bytes
    files: list[IncomingFile]
    parts: list[Any] = field(default_factory=list)

    def close(self) -> None:
        for part in self.parts:
            part.close()


class BadPost(Exception):
    """A body that is no good post: the fault, and the auth part's authHeader if it had a
    good one (its faultHttpStatusCode applies to the fault)."""

    def __init__(self, error: InvalidRequestXml, headers: list[etree._Element]) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers


def read_post(environ: Mapping[str, Any]) -> ServletPost:
    """The post of a request; BadPost if its body is not one. TimeoutError when the body
    stopped arriving."""
    mime, options = multipart.parse_options_header(environ.get("CONTENT_TYPE", ""))
    if mime != "multipart/form-data" or not options.get("boundary"):
        error = InvalidRequestXml(
            f"POST {UPLOAD_PATH} takes multipart/form-data with a boundary (parts auth, "
            f"uploadParams and the files), not {mime or 'nothing'}"
        )
        raise BadPost(error, [])
    try:
        parts = _parts(environ, options["boundary"])
    except InvalidRequestXml as error:
        raise BadPost(error, []) from None
    try:
        return _post(parts)
    except BaseException:
        for part in parts:
            part.close()
        raise


def _parts(environ: Mapping[str, Any], boundary: str) -> list[Any]:
    length = environ.get("CONTENT_LENGTH")
    parser = multipart.MultipartParser(
        environ["wsgi.input"],
        boundary,
        int(length) if length and length.isdigit() else -1,
        part_limit=MAX_PARTS,
        spool_limit=_SPOOL_BYTES,
    )
    parts: list[Any] = []
    try:
        parts.extend(parser)
    except multipart.MultipartError as error:
        for part in parts:
            part.close()
        raise InvalidRequestXml(f"The multipart body cannot be read: {error}") from None
    except BaseException:
        for part in parts:
            part.close()
        raise
    return parts


def _post(parts: list[Any]) -> ServletPost:
    fields = {p.name: p for p in parts if p.filename is None}
    headers: list[etree._Element] = []
    try:
        if "auth" in fields:
            headers.append(_document(fields["auth"], "auth"))
            if etree.QName(headers[0]).localname != "authHeader":
                found = etree.QName(headers.pop()).localname
                raise InvalidRequestXml(f"The auth part holds an authHeader, not <{found}>")
        if "uploadParams" not in fields:
            raise InvalidRequestXml(
                "The multipart body has no part named uploadParams (an uploadPostParam document)"
            )
        param = _document(fields["uploadParams"], "uploadParams")
    except InvalidRequestXml as error:
        raise BadPost(error, headers) from None
    shown = etree.Element("Request")
    shown.extend(copy.deepcopy(e) for e in (*headers, param))
    files = [IncomingFile(p.filename, partial(_chunks, p.file)) for p in parts if p.filename]
    return ServletPost(wrap(headers, param), etree.tostring(shown), files, parts)


def _document(part: Any, name: str) -> etree._Element:
    if part.size > MAX_DOCUMENT_BYTES:
        raise InvalidRequestXml(f"The {name} part is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return xml.parse(part.raw.strip())
    except InvalidRequestXml as error:
        raise InvalidRequestXml(f"The {name} part: {error.message}") from None


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    stream.seek(0)
    yield from iter(partial(stream.read, _CHUNK), b"")
