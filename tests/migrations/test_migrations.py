"""The Alembic migrations build exactly the schema the code expects, and can be walked back."""

from __future__ import annotations

import multiprocessing
import sqlite3
import sys
import threading
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
from sqlalchemy import DateTime, bindparam, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ips_jobs.domain.assets import AssetDraft
from ips_jobs.errors import ConfigError, StoreError
from ips_jobs.store import migrations
from ips_jobs.store.assets import SqlAssetRepository
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
        assets = SqlAssetRepository(database)
        draft = AssetDraft("hat", "Image", f"{company.root_path}a/", "hat.jpg", keywords=("red",))
        made = assets.add_asset(company.id, draft, datetime.now(UTC), user.email)
        assert assets.assets_by_name(company.id, ["hat"]) == [made]
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


def test_0007_gives_every_company_a_root_folder_and_goes_back_cleanly(
    empty_database_url: str,
) -> None:
    """Companies from before 0007 get their root folder from the migration, later ones from
    its trigger; the downgrade takes the trigger away with the tables."""
    url = empty_database_url
    asset_tables = {"folders", "assets", "asset_keywords", "asset_publications"}
    add = text("INSERT INTO companies (name, root_path, created_at) VALUES (:n, :r, :t)")
    add = add.bindparams(bindparam("t", type_=DateTime()))
    roots = (
        "SELECT c.name, f.path, f.parent_id FROM folders f JOIN companies c ON c.id = "
        "f.company_id WHERE f.created_at = c.created_at AND f.child_modified_at = c.created_at "
        "ORDER BY c.name"
    )
    migrations.upgrade(url, "0006")
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(add, {"n": "Old Co", "r": "OldCo/", "t": datetime(2024, 1, 1)})
        migrations.upgrade(url, "0007")
        with engine.begin() as conn:
            conn.execute(add, {"n": "New Co", "r": "NewCo/", "t": datetime(2024, 2, 1)})
            assert conn.execute(text(roots)).all() == [
                ("New Co", "NewCo/", None),
                ("Old Co", "OldCo/", None),
            ]
        migrations.downgrade(url, "0006")
        assert not asset_tables & table_names(url)
        with engine.begin() as conn:  # no trigger left behind to fail the insert
            conn.execute(add, {"n": "Third Co", "r": "ThirdCo/", "t": datetime(2024, 3, 1)})
        migrations.upgrade(url)
        with engine.begin() as conn:
            assert len(conn.execute(text(roots)).all()) == 3
    finally:
        engine.dispose()
    assert schema_differences(url) == []
    assert_usable(url)


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


def _upgrade_each(start: Any, urls: list[str]) -> None:
    """In a process of its own: upgrades each database as soon as its partner is ready too;
    exits with the number of upgrades that failed."""
    failed = 0
    for url in urls:
        start.wait(timeout=60)
        try:
            migrations.upgrade(url)
        except Exception as exc:
            print(f"{url}: {exc}", file=sys.stderr)
            failed += 1
    sys.exit(failed)


def test_two_processes_upgrading_a_new_sqlite_file_together_both_succeed(tmp_path: Path) -> None:
    """As `serve` and `worker` (or two CLI commands) started at once on a new file do: the
    second waits for the first and finds the file at head (it used to fail "table companies
    already exists" about every other time)."""
    urls = [f"sqlite:///{tmp_path / f'new-{n}.db'}" for n in range(8)]
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(2)
    processes = [spawn.Process(target=_upgrade_each, args=(start, urls)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [process.exitcode for process in processes] == [0, 0]
    head = migrations.head_revision(urls[0])
    for url in urls:
        assert migrations.current_revision(url) == head
        assert schema_differences(url) == []


def test_a_failed_sqlite_migration_leaves_nothing_half_done(tmp_path: Path) -> None:
    """Every migration runs in one transaction: after a failure the file is as it was, and the
    upgrade goes through once the cause is gone (it used to keep the first half of 0004, after
    which the upgrade failed "table change_counter already exists" for good)."""
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    migrations.upgrade(url, "0003")
    stray = (
        "CREATE TRIGGER fault_rules_after_delete AFTER DELETE ON fault_rules BEGIN SELECT 1; END"
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(stray)

    with pytest.raises(StoreError, match="already exists"):
        migrations.upgrade(url)

    assert migrations.current_revision(url) == "0003"
    assert "change_counter" not in table_names(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER fault_rules_after_delete")
    engine.dispose()
    migrations.upgrade(url)
    assert schema_differences(url) == []


def test_a_sqlite_migration_waits_for_a_reader_before_it_commits(tmp_path: Path) -> None:
    """A new file is in rollback-journal mode, where the commit must wait until no one is
    reading: a reader of another process (the partner's first look at the file) made the
    upgrade fail "database is locked" at once, about once in three hundred races."""
    url = f"sqlite:///{tmp_path / 'ips.db'}"
    failures: list[Exception] = []

    def upgrade() -> None:
        try:
            migrations.upgrade(url)
        except Exception as exc:
            failures.append(exc)

    reader = sqlite3.connect(tmp_path / "ips.db", isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchall()  # holds the shared lock
        upgrading = threading.Thread(target=upgrade)
        upgrading.start()
        upgrading.join(timeout=0.5)
        assert failures == []
        assert upgrading.is_alive(), "the upgrade should wait for the reader"
        reader.execute("COMMIT")
        upgrading.join(timeout=30)
    finally:
        reader.close()

    assert failures == []
    assert migrations.current_revision(url) == migrations.head_revision(url)
