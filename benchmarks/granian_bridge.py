"""A measurement prototype, not the product: ips-jobs' WSGI app behind granian's ASGI
interface, the request body read whole on the event loop (within a deadline and a size cap)
so that no slow client holds a Python thread; the app then runs on a thread pool with the
body in memory. docs/performance.md ("Choosing the serving layer") has what it measured.

    pip install granian
    ips-jobs db upgrade --database-url sqlite:////tmp/bridge.db
    IPS_ENGINE=false IPS_DATABASE_URL=sqlite:////tmp/bridge.db PYTHONPATH=. \\
        granian --interface asgi --workers 2 --http 1 --http1-header-read-timeout 5000 \\
        --port 8082 benchmarks.granian_bridge:application

(or `uvicorn --workers 2 --port 8082 benchmarks.granian_bridge:application`).

What it lacks for serving for real: the fault rules' dropped connections, 408/413 as SOAP
faults (it answers plain text), the engine child, the port file, the ready line and logs.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ips_jobs import app as ips_app
from ips_jobs.config import Settings

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SETTINGS = Settings.from_env()
WSGI = ips_app.wsgi_app(SETTINGS)
POOL = ThreadPoolExecutor(int(os.environ.get("IPS_THREADS", "8")))
TOO_LARGE = object()


def _call(environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, headers

    result = WSGI(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:  # as a WSGI server must: what the app holds is let go here
            close()
    return answer["status"], answer["headers"], body


async def _body(receive: Receive) -> bytes | object | None:
    """The whole body; TOO_LARGE past the cap; None if the client went away."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > SETTINGS.max_body_bytes:
            return TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _plain(send: Send, status: int, text: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text})


def _environ(scope: dict[str, Any], body: bytes) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "PATH_INFO": scope["path"],
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name == "CONTENT_TYPE":
            environ[name] = raw_value.decode("latin-1")
        elif name != "CONTENT_LENGTH":
            environ[f"HTTP_{name}"] = raw_value.decode("latin-1")
    return environ


async def application(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    try:
        body = await asyncio.wait_for(_body(receive), SETTINGS.body_timeout)
    except TimeoutError:
        await _plain(send, 408, b"the request body did not arrive in time\n")
        return
    if body is None:
        return
    if body is TOO_LARGE:
        await _plain(send, 413, b"the request body is too large\n")
        return
    assert isinstance(body, bytes)
    loop = asyncio.get_running_loop()
    status, headers, out = await loop.run_in_executor(POOL, _call, _environ(scope, body))
    await send(
        {
            "type": "http.response.start",
            "status": int(status.split()[0]),
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )
    await send({"type": "http.response.body", "body": out})
