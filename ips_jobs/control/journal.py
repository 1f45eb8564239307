"""The request journal: the last N SOAP exchanges, written to the database in batches by a
background thread so a request never waits for it, with passwords masked."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from ips_jobs.domain.control import Exchange
from ips_jobs.store.control import ControlStore
from ips_jobs.wire.soap import Outcome

log = logging.getLogger("ips_jobs.journal")

#: Bodies are kept up to this size (a 10 MiB upload list would not help anyone here).
MAX_BODY_CHARS = 64 * 1024
FLUSH_SECONDS = 0.05
_SECRET = re.compile(
    r"(<(?:[\w.-]+:)?(?:password|AuthPassword)\b[^>]*>)(.*?)(</(?:[\w.-]+:)?(?:password|AuthPassword)\s*>)",
    re.IGNORECASE | re.DOTALL,
)


def mask(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS] + f"... [{len(text) - MAX_BODY_CHARS} more characters]"
    return _SECRET.sub(r"\1****\3", text)


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


def recorder(journal: Journal) -> Callable[[bytes, Outcome, datetime, float], None]:
    """The wire layer's hook that puts each SOAP exchange into the journal."""

    def record(body: bytes, outcome: Outcome, started: datetime, seconds: float) -> None:
        journal.record(
            Exchange(
                at=started,
                operation=outcome.operation,
                caller=outcome.user,
                status=outcome.status,
                fault_code=outcome.fault_code,
                duration_ms=seconds * 1000,
                request=mask(body),
                response=mask(outcome.body),
            )
        )

    return record
