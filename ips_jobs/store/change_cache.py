"""Per-process memory of what the change counter watches (accounts, fault rules): every
SOAP request needs the caller's account and the fault rules, and they rarely change."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Generic, TypeVar

from ips_jobs.store.database import Database

V = TypeVar("V")


class ChangeCache(Generic[V]):
    """Values read from the watched tables, kept while the change counter stands still.

    The counter is read before the value, so a change made meanwhile is never hidden: it
    moves the counter past the one the value is kept under. Keys are kept as digests (a
    request may name a user of a megabyte), and only values `keep` accepts are kept at all
    (the repository keeps no unknown user: a flood of made-up names adds nothing)."""

    def __init__(
        self,
        database: Database,
        max_entries: int = 10_000,
        keep: Callable[[V], bool] | None = None,
    ) -> None:
        self.db = database
        self.max_entries = max_entries
        self.keep = keep
        self._values: dict[bytes, tuple[int, V]] = {}

    def get(self, key: str | None, load: Callable[[], V]) -> V:
        changes = self.db.changes()
        digest = _digest(key)
        kept = self._values.get(digest)
        if kept is not None and kept[0] == changes:
            return kept[1]
        value = load()
        if self.keep is not None and not self.keep(value):
            self._values.pop(digest, None)
            return value
        if len(self._values) >= self.max_entries:
            self._values.clear()
        self._values[digest] = (changes, value)
        return value

    def __len__(self) -> int:
        return len(self._values)


def _digest(key: str | None) -> bytes:
    """32 bytes whatever the key's size; None (a cache of one value) is a key of its own."""
    if key is None:
        return b""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
