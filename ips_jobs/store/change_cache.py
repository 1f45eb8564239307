"""Per-process memory of what the change counter watches (accounts, fault rules): every
SOAP request needs the caller's account and the fault rules, and they rarely change."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from ips_jobs.store.database import Database

V = TypeVar("V")


class ChangeCache(Generic[V]):
    """Values read from the watched tables, kept while the change counter stands still.

    The counter is read before the value, so a change made meanwhile is never hidden: it
    moves the counter past the one the value is kept under."""

    def __init__(self, database: Database, max_entries: int = 10_000) -> None:
        self.db = database
        self.max_entries = max_entries
        self._values: dict[Hashable, tuple[int, V]] = {}

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        changes = self.db.changes()
        kept = self._values.get(key)
        if kept is not None and kept[0] == changes:
            return kept[1]
        value = load()
        if len(self._values) >= self.max_entries:
            self._values.clear()
        self._values[key] = (changes, value)
        return value
