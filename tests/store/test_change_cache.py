"""Accounts and fault rules are kept per process between requests; a change made anywhere
(another process, the CLI, plain SQL) is seen by the very next lookup."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from conftest import make_account
from sqlalchemy import delete, text, update

from ips_jobs.domain.control import rule_from
from ips_jobs.store.change_cache import ChangeCache
from ips_jobs.store.control import ControlStore
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import memberships, users

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MIB = 1024 * 1024


@pytest.fixture
def two_processes(database_url: str) -> Iterator[tuple[Database, Database]]:
    """Two Database objects on one database, as two server processes would have."""
    first, second = Database(database_url), Database(database_url)
    yield first, second
    first.dispose()
    second.dispose()


def test_a_login_sees_an_account_changed_elsewhere(
    two_processes: tuple[Database, Database],
) -> None:
    here, elsewhere = (SqlJobRepository(db) for db in two_processes)
    account = make_account(elsewhere)
    before = here.user_by_email(account.email)
    assert before is not None and before.role == "IpsUser"
    assert here.user_by_email(account.email) == before  # kept: nothing changed

    with two_processes[1].write() as c:
        c.execute(update(users).where(users.c.id == account.user_id).values(role="IpsAdmin"))
    changed = here.user_by_email(account.email)
    assert changed is not None and changed.role == "IpsAdmin"

    with two_processes[1].write() as c:
        c.execute(delete(memberships).where(memberships.c.user_id == account.user_id))
    unlinked = here.user_by_email(account.email)
    assert unlinked is not None and unlinked.company_ids == frozenset()

    with two_processes[1].write() as c:
        c.execute(delete(users).where(users.c.id == account.user_id))
    assert here.user_by_email(account.email) is None


def test_an_unknown_login_sees_the_account_once_it_is_added(
    two_processes: tuple[Database, Database],
) -> None:
    here, elsewhere = (SqlJobRepository(db) for db in two_processes)
    assert here.user_by_email("late@example.test") is None
    company = elsewhere.add_company("Late Company", NOW)
    elsewhere.add_user("late@example.test", "hash", "IpsUser", [company.id])
    found = here.user_by_email("late@example.test")
    assert found is not None and found.company_ids == frozenset({company.id})


def test_fault_rules_added_used_and_cleared_elsewhere_are_seen(
    two_processes: tuple[Database, Database],
) -> None:
    here, elsewhere = (ControlStore(db) for db in two_processes)
    assert here.rules() == []
    rule = rule_from({"effect": "fault", "code": 30000, "remaining": 1}, 0, NOW)
    added = elsewhere.add_rule(rule)
    [seen] = here.rules()
    assert seen.id == added.id and seen.remaining == 1

    assert elsewhere.consume(seen)
    [used] = here.rules()
    assert used.remaining == 0 and used.hits == 1

    with two_processes[1].write() as c:
        c.execute(text("DELETE FROM fault_rules"))
    assert here.rules() == []


def test_logins_of_unknown_users_keep_nothing_however_long_the_name(
    two_processes: tuple[Database, Database],
) -> None:
    """A flood of made-up `<user>` names of a megabyte each must not stay in memory."""
    here = SqlJobRepository(two_processes[0])
    here.user_by_email("warm-up@example.test")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20):
            assert here.user_by_email(f"{n}-".ljust(MIB, "u")) is None
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < MIB, f"{grown} bytes kept for 20 unknown users"


def test_kept_values_are_keyed_by_a_digest_not_the_key(database_url: str) -> None:
    database = Database(database_url)
    cache: ChangeCache[int] = ChangeCache(database)
    try:
        cache.get("warm-up", lambda: 0)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for n in range(20):
                assert cache.get(f"{n}-".ljust(MIB, "k"), lambda n=n: n) == n
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert grown < MIB, f"{grown} bytes kept for 20 values"
        assert len(cache) == 21
        assert cache.get("7-".ljust(MIB, "k"), lambda: -1) == 7  # found by its digest
    finally:
        database.dispose()
