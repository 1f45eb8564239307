"""Reading a request body under gunicorn without letting a silent client hold a thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def read_timeout(environ: dict[str, Any], seconds: float) -> Iterator[None]:
    """Body reads give up (TimeoutError) after `seconds` without a byte: a chunked body with no
    last chunk, or a Content-Length larger than the body, would otherwise hold a thread for
    good. Outside gunicorn (no socket in the environ) reads are left as they are."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        yield
        return
    before = sock.gettimeout()
    sock.settimeout(seconds)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(before)
