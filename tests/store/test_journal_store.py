"""The request journal keeps every exchange of a batch, in order, however large the batch, and
drops all but the newest `keep`, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from ips_jobs.domain.control import Exchange
from ips_jobs.store.control import ControlStore
from ips_jobs.store.database import Database

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[ControlStore]:
    database = Database(database_url)
    yield ControlStore(database)
    database.dispose()


def exchanges(first: int, count: int) -> list[Exchange]:
    return [
        Exchange(
            at=START + timedelta(seconds=n),
            operation="submitJob",
            caller="a@example.test",
            status=500 if n % 7 == 0 else 200,
            fault_code=30000 if n % 7 == 0 else None,
            duration_ms=n / 10,
            request=f"<request n='{n}'>é</request>",
            response=f"<response n='{n}'/>",
        )
        for n in range(first, first + count)
    ]


def test_a_batch_larger_than_one_statement_holds_is_kept_whole_and_in_order(
    store: ControlStore,
) -> None:
    batch = exchanges(0, 250)  # more rows than one SQLite statement takes parameters for
    store.record(batch, keep=1000)
    kept = store.exchanges(None, None, None, 1000)
    assert [exchange for _, exchange in reversed(kept)] == batch
    ids = [entry_id for entry_id, _ in kept]
    assert ids == sorted(ids, reverse=True)


def test_only_the_newest_are_kept(store: ControlStore) -> None:
    store.record(exchanges(0, 150), keep=100)
    store.record(exchanges(150, 30), keep=100)
    kept = [exchange for _, exchange in store.exchanges(None, None, None, 1000)]
    assert kept == list(reversed(exchanges(80, 100)))
