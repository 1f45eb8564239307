"""Group commit for SQLite: the writes that a process's threads hand in at about the same
time go into one transaction, and each caller returns once the commit holding its write is
done (so an acknowledged submitJob is still a committed one).

SQLite has one write lock per file. Under load, each request's own transaction (BEGIN,
INSERT, COMMIT: three trips through the driver, each letting go of the GIL) held that lock
while its thread waited for the GIL or the CPU, and every other writer queued behind it.
One thread per process that writes whatever has been handed in meanwhile holds the lock
once for the lot (seven interleaved benchmark pairs: submitJob p99 lower in six, requests
per second +10 % on average; docs/performance.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

log = logging.getLogger("ips_jobs.store")

T = TypeVar("T")


class _Pending(Generic[T]):
    """One caller's write, and what became of it."""

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.result: T | None = None
        self.error: BaseException | None = None


_STOP = object()


class GroupCommit:
    def __init__(self, transaction: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._transaction = transaction
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._pid = 0
        self._thread: threading.Thread | None = None

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work`'s result once its transaction has committed, or its error. `work` runs on
        the writing thread, beside other callers' work: it must only execute its statements
        (SQLite undoes a statement that breaks a constraint and keeps the transaction)."""
        pending = _Pending(work)
        with self._lock:  # never behind close()'s stop, in a queue nobody reads any more
            self._running().put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def close(self, timeout: float = 5.0) -> None:
        """Stops this process's writing thread once it has written what it was handed, and
        waits for it up to `timeout` seconds; a later run() starts another."""
        with self._lock:
            if self._pid != os.getpid() or self._thread is None:
                return
            self._queue.put(_STOP)
            thread, self._thread, self._pid = self._thread, None, 0
        thread.join(timeout)

    def _running(self) -> queue.SimpleQueue[Any]:
        """The queue of this process's writing thread, started on first use (a forked child
        has none of its parent's threads). Called with the lock held."""
        if self._pid != os.getpid() or self._thread is None:
            self._queue = queue.SimpleQueue()
            self._pid = os.getpid()
            self._thread = threading.Thread(
                target=self._write_groups, args=(self._queue,), name="ips-group-commit", daemon=True
            )
            self._thread.start()
        return self._queue

    def _write_groups(self, waiting: queue.SimpleQueue[Any]) -> None:
        while True:
            group = [waiting.get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    group.append(waiting.get_nowait())
            stop = _STOP in group
            self._commit([pending for pending in group if pending is not _STOP])
            if stop:
                return

    def _commit(self, group: list[_Pending[Any]]) -> None:
        """One transaction for the group. A write that fails other than by a constraint
        leaves the transaction in doubt: it fails alone and the others are written again."""
        while group:
            broken: _Pending[Any] | None = None
            try:
                with self._transaction() as conn:
                    for pending in group:
                        pending.result, pending.error = None, None
                        try:
                            pending.result = pending.work(conn)
                        except IntegrityError as exc:
                            pending.error = exc
                        except Exception as exc:
                            broken, pending.error = pending, exc
                            raise
            except Exception as exc:
                if broken is None:  # BEGIN or COMMIT failed: nothing of the group is stored
                    for pending in group:
                        pending.error = exc
                else:
                    log.warning("a grouped write failed; writing the others again", exc_info=True)
                    broken.done.set()
                    group = [pending for pending in group if pending is not broken]
                    continue
            except BaseException as exc:  # e.g. the interpreter is exiting: nobody hangs
                for pending in group:
                    pending.error = exc
                    pending.done.set()
                raise
            for pending in group:
                pending.done.set()
            return
