"""The request journal: the last N SOAP exchanges, written to the database in batches by a
background thread so a request never waits for it, with passwords masked and every text cut
(bodies to 64 Ki characters, the caller and the operation to 256)."""

from __future__ import annotations

import codecs
import functools
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from ips_jobs.domain.control import Exchange
from ips_jobs.store.control import ControlStore
from ips_jobs.wire.soap import Outcome, clip

log = logging.getLogger("ips_jobs.journal")

#: Bodies are kept up to this size (a 10 MiB upload list would not help anyone here).
MAX_BODY_CHARS = 64 * 1024
#: The most bytes of a body decoded: enough for MAX_BODY_CHARS characters of 4 bytes (UTF-32),
#: so that a 10 MiB body is never decoded whole.
_MAX_BODY_BYTES = MAX_BODY_CHARS * 4 + 4
FLUSH_SECONDS = 0.05
_NAMES = r"(?:password|AuthPassword)"
#: A password element (any prefix), its content up to its end tag or, in a cut body, to the
#: end. `[^<>]` keeps a run of unclosed `<password` tags linear; `(?<!/)` skips `<password/>`.
_SECRET = re.compile(
    rf"(<(?:[^\s<>/:]+:)?{_NAMES}\b[^<>]*(?<!/)>)(.*?)(</(?:[^\s<>/:]+:)?{_NAMES}\s*>|\Z)",
    re.IGNORECASE | re.DOTALL,
)
#: XML 1.0 appendix F: byte order marks, then the first characters of `<?xml` without one.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)
_WIDE = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00?", "utf-16-be"),
    (b"<\x00?\x00", "utf-16-le"),
)
_DECLARED = re.compile(rb"""\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][\w.:-]*)["']""")


def mask(body: bytes) -> str:
    """The body as text, cut to MAX_BODY_CHARS characters, every password masked.

    It is decoded as the XML parser decodes it (byte order mark, the width of `<?xml`, then
    the declared encoding), so a password is found in every encoding the parser reads: read
    as UTF-8, a UTF-16 body would keep its password readable between NULs. A body declared
    in an encoding Python cannot read is not kept at all."""
    encoding, skip = _encoding(body)
    if encoding is None:
        return f"[{len(body)} bytes in an encoding the journal cannot read: not kept]"
    head = body[skip : skip + _MAX_BODY_BYTES]
    text = head.decode(encoding, errors="replace")
    cut = len(text) > MAX_BODY_CHARS or skip + len(head) < len(body)
    text = _SECRET.sub(r"\1****\3", text[:MAX_BODY_CHARS])
    return text + f"... [cut; {len(body)} bytes in all]" if cut else text


def _encoding(body: bytes) -> tuple[str | None, int]:
    """(the codec, the length of the byte order mark) the XML parser would use."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, len(bom)
    for start, codec in _WIDE:
        if body.startswith(start):
            return codec, 0
    if b"\x00" in body[:2]:
        # No mark and no declaration, yet NULs: UTF-16 text, which the parser refuses but
        # whose password must not be kept readable between the NULs all the same.
        return ("utf-16-le" if body[1:2] == b"\x00" else "utf-16-be"), 0
    declared = _DECLARED.match(body, 0, 200)
    if declared is None:
        return "utf-8", 0
    try:
        codec = codecs.lookup(declared[1].decode("ascii")).name
    except LookupError:
        return None, 0
    # Bytes read as 8-bit where the declaration names UTF-16, or a codec that is not text
    # (base64): the parser keeps to what it found (or refuses the body), and so does this.
    return (codec if _reads_markup(codec) else "utf-8"), 0


@functools.cache  # one entry per codec Python has
def _reads_markup(codec: str) -> bool:
    try:
        return b"<password>".decode(codec) == "<password>"
    except (UnicodeDecodeError, LookupError):  # LookupError: not a text codec (base64)
        return False


class Journal:
    def __init__(self, store: ControlStore, size: int) -> None:
        self.store = store
        self.size = size
        self._pending: deque[Exchange] = deque(maxlen=size)
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ips-journal", daemon=True)
        self._thread.start()

    def record(self, exchange: Exchange) -> None:
        with self._wake:
            self._pending.append(exchange)
            self._wake.notify()

    def flush(self) -> None:
        with self._wake:
            batch = list(self._pending)
            self._pending.clear()
        try:
            self.store.record(batch, self.size)
        except Exception:
            log.exception("could not write %d journal entries", len(batch))

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            time.sleep(FLUSH_SECONDS)  # gather a batch
            self.flush()


def recorder(journal: Journal) -> Callable[[bytes, Outcome, datetime, float, str], None]:
    """The wire layer's hook that puts each SOAP exchange into the journal."""

    def record(
        body: bytes, outcome: Outcome, started: datetime, seconds: float, transport: str
    ) -> None:
        journal.record(
            Exchange(
                at=started,
                operation=clip(outcome.operation),
                caller=clip(outcome.user),
                status=outcome.status,
                fault_code=outcome.fault_code,
                duration_ms=seconds * 1000,
                request=mask(body),
                response=mask(outcome.body),
                transport=transport,
            )
        )

    return record
