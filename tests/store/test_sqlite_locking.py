"""SQLite shared by several processes: a command that meets the file locked waits its turn
instead of failing with "database is locked" (two CLI commands started together did)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from ips_jobs.store import migrations
from ips_jobs.store.database import Database

HOLD_SECONDS = 0.3


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    path = tmp_path / "ips.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database(db_file: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{db_file}")
    yield db
    db.dispose()


def journal_mode(db_file: Path) -> str:
    with closing(sqlite3.connect(db_file)) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def hold(db_file: Path, begin: str) -> threading.Thread:
    """Another process's connection, inside a transaction for HOLD_SECONDS."""
    other = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    other.execute(begin)
    other.execute("SELECT count(*) FROM companies").fetchall()

    def release() -> None:
        threading.Event().wait(HOLD_SECONDS)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def add_company(database: Database, name: str) -> None:
    with database.checked_write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO companies (name, root_path, created_at) "
            "VALUES (?, ?, '2026-01-01 00:00:00')",
            (name, f"{name}/"),
        )


def company_names(db_file: Path) -> list[str]:
    with closing(sqlite3.connect(db_file)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM companies ORDER BY id")]


def test_a_fresh_file_switches_to_wal_once_a_writer_elsewhere_ends(
    db_file: Path, database: Database
) -> None:
    assert journal_mode(db_file) == "delete"  # as `db upgrade` leaves a new file
    writer = hold(db_file, "BEGIN IMMEDIATE")
    add_company(database, "Acme")
    writer.join()
    assert journal_mode(db_file) == "wal"
    assert company_names(db_file) == ["Acme"]


def test_a_write_waits_for_another_processs_write_to_end(db_file: Path, database: Database) -> None:
    add_company(database, "Acme")  # the file is in WAL mode from here on
    writer = hold(db_file, "BEGIN IMMEDIATE")
    add_company(database, "Beta Co")
    writer.join()
    assert company_names(db_file) == ["Acme", "Beta Co"]
