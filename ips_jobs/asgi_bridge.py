"""ips-jobs' WSGI app behind an ASGI server, without letting a slow client hold a thread.

The request body is read whole on the event loop, within one deadline for the whole body and
a size cap, and only then does the app run, on a thread pool, with the body in memory. A
client that trickles, stalls or never reads its answer costs a coroutine, not a thread: the
threads (IPS_THREADS per worker) only ever run requests that have fully arrived.

What the app sees of a body that did not arrive whole:
- past the cap: its first `cap + 1` bytes (the rest is read and dropped, bounded by
  DRAIN_LIMIT and the deadline, so that the client gets to read the answer): the app's own
  limit check refuses it (413 for SOAP);
- stalled past the deadline: a wsgi.input whose read raises TimeoutError (408 for SOAP);
and the connection is closed after the answer, so nothing left of that body can be taken
for the client's next request.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, BinaryIO

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: The most of a refused body read and dropped; past it the connection is closed at once.
DRAIN_LIMIT = 256 * 1024 * 1024
#: Bytes per second a file-taking body must average once its first IPS_BODY_TIMEOUT is
#: over: a client that trickles forever is cut off (408) however short its pauses.
MIN_FILE_RATE = 32 * 1024
#: The most of a file-taking body (UploadFile) kept in memory; the rest goes to disk.
SPOOL_BYTES = 1024 * 1024
#: The environ key of the callable that drops the connection without an answer.
ABORT_KEY = "ips.abort_connection"
#: The ASGI scope extension a server gives to let the app drop a connection (http_heads.py).
ABORT_EXTENSION = "ips.abort"


@dataclass
class Body:
    """What arrived of a request body, in `stream` (at its start), `size` bytes: whole
    unless `stalled` or `truncated`."""

    stream: BinaryIO
    size: int = 0
    stalled: bool = False
    truncated: bool = False
    gone: bool = False

    @property
    def whole(self) -> bool:
        return not (self.stalled or self.truncated or self.gone)


class _StalledInput(io.RawIOBase):
    """The wsgi.input of a body that stopped arriving: reading it is a timeout."""

    def readable(self) -> bool:
        return True

    def readinto(self, _buffer: Any) -> int:
        raise TimeoutError("the request body stopped arriving")


async def read_body(
    receive: Receive, cap: int, deadline: float, sink: BinaryIO | None = None, idle: bool = False
) -> Body:
    """The body, at most `cap + 1` bytes kept (in `sink`, else in memory), all of it arrived
    by `deadline` (time.monotonic()), or with `idle`, none of its pauses longer than the
    deadline's distance from now and the whole of it no slower than MIN_FILE_RATE on
    average after that much time; what comes past the cap is dropped up to DRAIN_LIMIT."""
    out = sink if sink is not None else io.BytesIO()
    started = time.monotonic()
    pause = deadline - started
    kept = dropped = 0

    def body(**flags: bool) -> Body:
        out.seek(0)
        return Body(out, min(kept, cap + 1), **flags)

    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return body(stalled=kept <= cap, truncated=kept > cap)
        try:
            message = await asyncio.wait_for(receive(), left)
        except TimeoutError:
            continue  # the deadline check above answers
        if message["type"] == "http.disconnect":
            return Body(io.BytesIO(), gone=True)
        chunk: bytes = message.get("body", b"")
        if idle and chunk:
            received = kept + dropped + len(chunk)
            ceiling = started + pause + received / MIN_FILE_RATE
            deadline = min(time.monotonic() + pause, ceiling)
        room = cap + 1 - kept
        if room > 0:
            out.write(chunk[:room])
            kept += min(room, len(chunk))
        dropped += max(0, len(chunk) - max(room, 0))
        if not message.get("more_body"):
            return body(truncated=kept > cap)
        if dropped > DRAIN_LIMIT:
            return body(truncated=True)


class WsgiBridge:
    """An ASGI application running a WSGI one (see the module's docstring)."""

    def __init__(
        self,
        wsgi: WsgiCallable,
        threads: int,
        max_body_bytes: int,
        body_timeout: float,
        file_paths: Mapping[str, int] | None = None,
    ) -> None:
        self.wsgi = wsgi
        self.cap = max_body_bytes
        self.body_timeout = body_timeout
        #: Paths that take files (UploadFile), with their own cap: their bodies go to a
        #: temporary file, and must not pause for longer than body_timeout (a large file on
        #: a slow line takes as long as it takes).
        self.file_paths = dict(file_paths or {})
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="ips-request")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan: nothing to start or stop
            return
        deadline = time.monotonic() + self.body_timeout
        file_cap = self.file_paths.get(scope["path"]) if scope["method"] == "POST" else None
        if file_cap is None:
            body = await read_body(receive, self.cap, deadline)
            if not body.gone:
                await self._answer(scope, send, body)
            return
        with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
            body = await read_body(receive, file_cap, deadline, spool, idle=True)
            if not body.gone:
                await self._answer(scope, send, body)

    async def _answer(self, scope: dict[str, Any], send: Send, body: Body) -> None:
        abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
        aborted: list[bool] = []
        environ = wsgi_environ(scope, body, lambda: aborted.append(True))
        loop = asyncio.get_running_loop()
        status, headers, chunks = await loop.run_in_executor(self.pool, _run, self.wsgi, environ)
        if aborted and abort is not None:
            abort()
            await asyncio.sleep(0)  # the connection is seen lost: no 500 is tried on it
            return
        if not body.whole or aborted:
            headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            headers.append(("Connection", "close"))
        await send(
            {
                "type": "http.response.start",
                "status": int(status.split(" ", 1)[0]),
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": b"".join(chunks)})

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _run(
    wsgi: WsgiCallable, environ: dict[str, Any]
) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Calls the app on a pool thread and collects its whole answer (ips-jobs' answers are
    built in memory; none streams)."""
    answer: list[Any] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None and answer:
            raise exc_info[1].with_traceback(exc_info[2])
        answer[:] = [status, headers]
        return chunks.append

    chunks: list[bytes] = []
    result = wsgi(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer[0], answer[1], chunks


def wsgi_environ(scope: dict[str, Any], body: Body, abort: Callable[[], None]) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP scope whose body has been read."""
    server_host, server_port = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    stream: io.RawIOBase | BinaryIO = _StalledInput() if body.stalled else body.stream
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": scope.get("root_path", "").encode("utf-8").decode("latin-1"),
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server_host),
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "REMOTE_ADDR": client[0] if client else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": stream,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        ABORT_KEY: abort,
    }
    if not body.stalled:
        environ["CONTENT_LENGTH"] = str(body.size)
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT_LENGTH":
            if body.stalled:
                environ["CONTENT_LENGTH"] = value
            continue
        if name == "TRANSFER_ENCODING" and not body.stalled:
            continue  # the body is whole and in memory: wsgi.input is no longer chunked
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
