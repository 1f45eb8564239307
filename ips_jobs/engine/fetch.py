"""Fetching an upload's file into the file store: http, https and ftp through urllib, and
file: for a file inside the server directory (IPS_SERVER_DIRECTORY) only.

Why file: is limited so: an upload URL is sent by any API user, and the emulator must not hand
them the server's own files (`file:///etc/passwd`) as an asset they can then export. The
server directory is the one folder the operator has said the server may read (it is also
where uploadDirectoryJob reads); without it, file: URLs are refused. A redirect never leaves
http, https and ftp (urllib refuses one to file:, and the opener has no file: handler).

For the same reason no fetch, nor a redirect, goes to a link-local address (169.254.0.0/16,
fe80::/10): cloud metadata services answer there with the machine's credentials. Loopback
and private addresses stay allowed: test suites serve their fixtures from them."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ips_jobs.store.files import FileStore, Stored, TooLarge

SCHEMES = ("http", "https", "ftp", "file")
_CHUNK = 256 * 1024


class FetchError(Exception):
    """The file could not be fetched; the message says why, for the UploadError row."""


@dataclass(frozen=True)
class Fetcher:
    files: FileStore
    timeout: float  #: seconds for the whole file
    max_bytes: int
    server_directory: Path | None  #: None: file: URLs are refused

    def fetch(self, url: str) -> Stored:
        """The URL's bytes, stored; FetchError with the reason when they cannot be had."""
        scheme = urlsplit(url).scheme.lower()
        if scheme not in SCHEMES:
            raise FetchError(f"'{scheme or url}' URLs cannot be fetched (use http, https or ftp)")
        if scheme == "file":
            return self.read(self.local(url))
        _refuse_link_local(url)
        with _reasons(), _OPENER.open(url, timeout=self.timeout) as response:
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > self.max_bytes:
                raise FetchError(f"the file is larger than {self.max_bytes} bytes")
            return self._store(response)

    def read(self, path: Path) -> Stored:
        """A file of the server directory (as local() or inside() gave it), stored."""
        with _reasons(), path.open("rb") as stream:
            return self._store(stream)

    def local(self, url: str) -> Path:
        """The file a file: URL names, if it lies inside the server directory."""
        if self.server_directory is None:
            raise FetchError("file: URLs are refused: the server has no IPS_SERVER_DIRECTORY")
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FetchError(f"file: URLs must name a local file, not one on {parts.netloc!r}")
        return self.inside(Path(unquote(parts.path)))

    def inside(self, path: Path) -> Path:
        """`path` (relative ones are taken from the server directory) with every link
        followed, if it is still inside the server directory."""
        assert self.server_directory is not None
        top = self.server_directory.resolve()
        real = (top / path).resolve()
        if not real.is_relative_to(top):
            raise FetchError(f"{path} is outside the server directory")
        return real

    def _store(self, stream: BinaryIO) -> Stored:
        deadline = time.monotonic() + self.timeout
        return self.files.put(_chunks(stream, deadline, self.timeout), self.max_bytes)


def _chunks(stream: BinaryIO, deadline: float, timeout: float) -> Iterator[bytes]:
    """The stream's bytes, until the whole fetch has taken longer than `timeout` (urllib's
    own timeout is per read: a server trickling bytes would never time out). read1 gives what
    has arrived, so a trickle is seen between reads instead of inside one long one."""
    read = getattr(stream, "read1", stream.read)
    while chunk := read(_CHUNK):
        if time.monotonic() > deadline:
            raise FetchError(f"timed out after {timeout:g} s")
        yield chunk


@contextmanager
def _reasons() -> Iterator[None]:
    """Errors of a fetch as FetchErrors that say why, for the UploadError row."""
    try:
        yield
    except urllib.error.HTTPError as error:
        raise FetchError(f"HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise FetchError(_reason(error.reason)) from None
    except TooLarge as error:
        raise FetchError(str(error)) from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise FetchError(_reason(error)) from None


def _reason(error: object) -> str:
    if isinstance(error, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or error.__class__.__name__


def _refuse_link_local(url: str) -> None:
    """FetchError if the URL's host is, or resolves to, a link-local address (a name that
    does not resolve is left to the fetch, which says so)."""
    host = urlsplit(url).hostname
    if not host:
        return
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return
    for *_, address in found:
        ip = ipaddress.ip_address(str(address[0]).partition("%")[0])
        if ip.is_link_local or ip.is_unspecified or ip.is_multicast:
            raise FetchError(
                f"{host} is {ip}, a link-local address: uploads do not fetch from there "
                "(cloud metadata services answer there)"
            )


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Redirects, but never to a link-local address."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        _refuse_link_local(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """urllib's handlers for http, https and ftp, without the one for file:."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.FTPHandler(),
        _Redirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.UnknownHandler(),
    ):
        opener.add_handler(handler)
    return opener


_OPENER = _opener()
