"""uvicorn's HTTP/1.1 protocol (httptools) with what a server facing hostile clients needs and
uvicorn lacks: one deadline for a request's whole head (request line and headers) and a cap
on its size. A head sent a byte a second used to hold a gunicorn thread for good; here it
holds only a coroutine, and for at most IPS_HEADER_TIMEOUT seconds.

Also gives the app a way to drop its connection without an answer (the fault rules'
`drop`), as the ASGI scope extension asgi_bridge.ABORT_EXTENSION, and writes header names as
IPS's servers (and gunicorn before) do, `Content-Type` rather than uvicorn's `content-type`:
HTTP does not care, but client code reading `dict(response.headers)["Content-Type"]` does.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ips_jobs.asgi_bridge import ABORT_EXTENSION

#: Seconds a refused connection is still read (and what comes dropped) after its answer, so
#: that a client still sending gets to read the answer instead of a reset.
LINGER_SECONDS = 2.0
#: The largest head (request line and headers) read; gunicorn's limits came to about 800 KiB,
#: real SOAP clients send well under 4 KiB.
MAX_HEAD_BYTES = 64 * 1024


#: A header name at the start of a line of a response head.
_HEADER_NAME = re.compile(rb"(?<=\r\n)[a-z0-9-]+(?=: )")
#: Names whose usual spelling is not the dashed title case.
_SPELLING = {b"www-authenticate": b"WWW-Authenticate", b"etag": b"ETag"}


def _spelled(match: re.Match[bytes]) -> bytes:
    name = match[0]
    return _SPELLING.get(name) or name.title()


class _Transport:
    """The connection's transport as the protocol sees it: response heads get their header
    names in the usual spelling, and closing lingers. Closed at once with bytes of the
    client's still unread (the rest of a refused body, a head past its cap), a socket sends a
    reset, and the client may lose the answer it was about to read: so the answer goes out
    with a FIN, and what still comes is dropped for LINGER_SECONDS or until the client's own
    end (`eof`)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._closing = False
        self._timer: asyncio.TimerHandle | None = None

    def write(self, data: bytes) -> None:
        if data.startswith(b"HTTP/1.1 ") and data.endswith(b"\r\n\r\n"):  # a head alone
            data = _HEADER_NAME.sub(_spelled, data)
        self._transport.write(data)

    def close(self) -> None:
        if self._closing or self._transport.is_closing():
            return
        self._closing = True
        if not self._transport.can_write_eof():
            self._transport.close()
            return
        self._transport.write_eof()
        self._timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self.eof)

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def eof(self) -> None:
        """The client is done (or was given time enough): the socket closes now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def protocol_class(header_timeout: float, max_head_bytes: int = MAX_HEAD_BYTES) -> type[Any]:
    """The protocol class for uvicorn's `http` setting, with these limits."""

    class GuardedHttpProtocol(HttpToolsProtocol):
        """A head that is late gets 408, one too large 431; both close the connection."""

        _head_timer: asyncio.TimerHandle | None = None
        _head_bytes = 0
        _head_started = False
        _peer_done = False
        transport: _Transport  # type: ignore[assignment]

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(_Transport(transport))  # type: ignore[arg-type]
            self._expect_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_done()
            super().connection_lost(exc)
            self.transport.eof()

        def data_received(self, data: bytes) -> None:
            if self.transport.is_closing():
                return  # an answer has gone with its FIN: what still comes is dropped
            if self._head_timer is not None:
                self._head_started = True
            super().data_received(data)
            if self._head_timer is None or self.transport.is_closing():
                return  # no head being read (it completed in this data, or none began)
            self._head_bytes += len(data)
            if self._head_bytes > max_head_bytes:
                self._refuse(431, "The request head (request line and headers) is too large.")

        def eof_received(self) -> bool | None:
            if self.transport.is_closing():
                self.transport.eof()
                return None
            if self.cycle is None or self.cycle.response_complete:
                return None
            self._peer_done = True  # it half-closed after its request: it gets the answer
            return True

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self._peer_done and not self.pipeline:
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._head_timer is None:  # the next request on a kept-alive connection
                self._expect_head()
                self._head_started = True
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._head_done()
            self.scope["extensions"] = {ABORT_EXTENSION: self.transport.abort}
            super().on_headers_complete()

        def send_400_response(self, msg: str) -> None:
            self._head_done()
            super().send_400_response(msg)

        def _expect_head(self) -> None:
            self._head_bytes = 0
            self._head_started = False
            self._head_timer = self.loop.call_later(header_timeout, self._head_late)

        def _head_done(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_late(self) -> None:
            """A connection that sent nothing is closed quietly (clients open spare ones);
            one that began a request and did not finish its head in time gets a 408."""
            self._head_timer = None
            if self.transport.is_closing():
                return
            if self._head_started:
                self._refuse(408, f"The request head did not arrive within {header_timeout:g} s.")
            else:
                self.transport.close()

        def _refuse(self, status: int, text: str) -> None:
            """Answers and closes (lingering: see _Transport)."""
            self._head_done()
            data = text.encode("ascii") + b"\n"
            self.transport.write(
                STATUS_LINE[status]
                + b"content-type: text/plain; charset=utf-8\r\n"
                + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(data)
                + data
            )
            self.transport.close()

    return GuardedHttpProtocol
