"""Driver statements (store/driver.py) read and write values as SQLAlchemy itself would."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select

from ips_jobs.store.database import Database
from ips_jobs.store.driver import DriverStatement
from ips_jobs.store.tables import companies

CREATED = datetime(2026, 3, 1, 12, 30, 15, 250_000, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def test_rows_read_through_the_driver_equal_sqlalchemys_own(database: Database) -> None:
    with database.write() as c:
        c.execute(insert(companies).values(name="Acme", root_path="Acme/", created_at=CREATED))
    named = select(companies).where(companies.c.name == bindparam("name"))
    statement = DriverStatement(named, database.sql_dialect)
    with database.read() as c:
        raw = statement.rows(c, statement.args({"name": "Acme"}))
        expected = [dict(r._mapping) for r in c.execute(named, {"name": "Acme"})]
    records = statement.records(raw)
    assert records == expected
    assert records[0]["created_at"] == CREATED  # aware UTC, as UtcDateTime gives it


def test_a_list_parameter_is_refused_when_the_statement_is_made(database: Database) -> None:
    listed = select(companies).where(companies.c.name.in_(["Acme", "Beta"]))
    with pytest.raises(ValueError, match="list parameter"):
        DriverStatement(listed, database.sql_dialect)


def test_a_value_the_statement_has_no_place_for_is_refused(database: Database) -> None:
    statement = DriverStatement(
        select(companies).where(companies.c.id == bindparam("id")), database.sql_dialect
    )
    with pytest.raises(ValueError, match="not parameters of this statement"):
        statement.args({"id": 1, "name": "Acme"})
