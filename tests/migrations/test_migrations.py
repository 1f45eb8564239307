"""The Alembic migrations build exactly the schema the code expects, and can be walked back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import _database_params, drop_postgres_database, postgres_base_url
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ips_jobs.errors import ConfigError, StoreError
from ips_jobs.store import migrations
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import metadata


@pytest.fixture(params=_database_params())
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even Alembic's version table."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = postgres_base_url()
    assert base is not None
    base_url = make_url(base)
    if base_url.drivername == "postgresql":
        base_url = base_url.set(drivername="postgresql+psycopg")
    name = f"ipsjobs_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base_url.set(database=name).render_as_string(hide_password=False)
    yield url
    drop_postgres_database(base, url)


def schema_differences(url: str) -> list[Any]:
    """What autogenerate would write to make the database match store.tables (empty = same)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            opts: dict[str, Any] = {"compare_type": True}
            if conn.dialect.name == "postgresql":
                # SQLite reflects DEFAULT '' in a form Alembic cannot compare; PostgreSQL can.
                opts["compare_server_default"] = True
            return list(compare_metadata(MigrationContext.configure(conn, opts=opts), metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def revisions_in_order(url: str) -> list[str]:
    script = ScriptDirectory.from_config(migrations.alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def assert_usable(url: str) -> None:
    """The migrated schema takes the writes the repository makes."""
    database = Database(url)
    try:
        repository = SqlJobRepository(database)
        company = repository.add_company(f"Co {uuid.uuid4().hex[:6]}", datetime.now(UTC))
        user = repository.add_user(f"{uuid.uuid4().hex[:6]}@x.test", "h", "IpsUser", [company.id])
        assert repository.user(user.id).company_ids == {company.id}  # type: ignore[union-attr]
    finally:
        database.dispose()


def test_the_migrated_database_matches_the_tables(database_url: str) -> None:
    assert schema_differences(database_url) == []
    assert migrations.current_revision(database_url) == migrations.head_revision(database_url)


def test_a_fresh_database_upgrades_to_the_tables(empty_database_url: str) -> None:
    assert table_names(empty_database_url) == set()
    assert migrations.current_revision(empty_database_url) is None
    migrations.upgrade(empty_database_url)
    assert migrations.current_revision(empty_database_url) == migrations.head_revision(
        empty_database_url
    )
    assert table_names(empty_database_url) == {t.name for t in metadata.sorted_tables} | {
        "alembic_version"
    }
    assert schema_differences(empty_database_url) == []
    assert_usable(empty_database_url)


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    migrations.upgrade(database_url)
    assert migrations.current_revision(database_url) == migrations.head_revision(database_url)
    assert schema_differences(database_url) == []


def test_downgrade_to_base_and_back_round_trips(database_url: str) -> None:
    assert_usable(database_url)
    migrations.downgrade(database_url, "base")
    assert table_names(database_url) <= {"alembic_version"}
    assert migrations.current_revision(database_url) is None
    migrations.upgrade(database_url)
    assert schema_differences(database_url) == []
    assert_usable(database_url)


def test_every_revision_upgrades_and_downgrades_one_step_at_a_time(
    empty_database_url: str,
) -> None:
    url = empty_database_url
    revisions = revisions_in_order(url)
    assert revisions, "no migrations found"
    for revision in revisions:
        migrations.upgrade(url, revision)
        assert migrations.current_revision(url) == revision
    assert schema_differences(url) == []
    for expected in [*reversed(revisions[:-1]), None]:
        migrations.downgrade(url, "-1")
        assert migrations.current_revision(url) == expected
    assert table_names(url) <= {"alembic_version"}


def test_an_unreachable_database_is_a_store_error_not_a_driver_error() -> None:
    with pytest.raises(StoreError) as caught:
        migrations.upgrade("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert not isinstance(caught.value, SQLAlchemyError)
    assert len(caught.value.message.splitlines()) == 1


@pytest.mark.parametrize("url", ["mysql://x@localhost/db", "not a url"])
def test_an_unusable_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        migrations.upgrade(url)
    assert "IPS_DATABASE_URL" in caught.value.message
