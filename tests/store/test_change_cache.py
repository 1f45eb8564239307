"""Accounts and fault rules are kept per process between requests; a change made anywhere
(another process, the CLI, plain SQL) is seen by the very next lookup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from conftest import make_account
from sqlalchemy import delete, text, update

from ips_jobs.domain.control import rule_from
from ips_jobs.store.control import ControlStore
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import memberships, users

NOW = datetime(2026, 1, 1, tzinfo=UTC)


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
