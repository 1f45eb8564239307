"""submitJob's insert goes through group commit on SQLite: writes that queue up together are
committed together, and each caller still gets its own row, its own error, and its answer only
once its row is committed."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.exc import OperationalError
from test_repository import NOW, spec

from ips_jobs.domain.jobs import Company, User
from ips_jobs.errors import NameInUse
from ips_jobs.store import migrations
from ips_jobs.store.database import Database
from ips_jobs.store.repository import SqlJobRepository
from ips_jobs.store.tables import scheduled_jobs

#: How long the write lock is held by "another process" while writes queue behind it.
QUEUE_SECONDS = 0.3


@pytest.fixture
def sqlite_repository(tmp_path: Path) -> Iterator[SqlJobRepository]:
    migrations.upgrade(f"sqlite:///{tmp_path / 'ips.db'}")
    database = Database(f"sqlite:///{tmp_path / 'ips.db'}")
    yield SqlJobRepository(database)
    database.dispose()


def account(repository: SqlJobRepository) -> tuple[Company, User]:
    company = repository.add_company("Acme", NOW)
    user = repository.add_user("u@example.test", "x", "IpsAdmin", [company.id])
    return company, user


def stored_names(repository: SqlJobRepository) -> dict[int, str]:
    """What another connection sees committed: id -> job name."""
    engine = create_engine(repository.db.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(scheduled_jobs.c.id, scheduled_jobs.c.name)).all()
    finally:
        engine.dispose()
    return {row.id: row.name for row in rows}


def sqlite_path(repository: SqlJobRepository) -> Path:
    return Path(repository.db.url.removeprefix("sqlite:///"))


def queued_behind_lock(
    repository: SqlJobRepository, calls: list[Callable[[], Any]]
) -> list[Future[Any]]:
    """Runs `calls` at once while another connection holds SQLite's write lock, so that they
    all wait for it together; the futures once the lock is free and they are done."""
    other = sqlite3.connect(sqlite_path(repository), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    pool = ThreadPoolExecutor(max_workers=len(calls))
    futures = [pool.submit(call) for call in calls]
    time.sleep(QUEUE_SECONDS)
    assert not any(f.done() for f in futures), "a write got past another process's lock"
    other.execute("COMMIT")
    other.close()
    pool.shutdown(wait=True)
    return futures


def test_concurrent_submits_each_get_their_own_committed_row(
    repository: SqlJobRepository,
) -> None:
    company, user = account(repository)
    names = [f"job-{i}" for i in range(40)]
    start = threading.Barrier(len(names))

    def submit(name: str) -> tuple[int, str]:
        start.wait()
        job = repository.add_scheduled_job(spec(company, user, name))
        return job.id, job.name

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        answered = dict(pool.map(submit, names))

    assert sorted(answered.values()) == sorted(names)
    assert stored_names(repository) == answered  # each id is the row of that very name


def test_writes_queued_together_are_committed_together(
    sqlite_repository: SqlJobRepository,
) -> None:
    """Measured on the file: SQLite's WAL gets the changed pages once per transaction."""
    repository = sqlite_repository
    company, user = account(repository)
    wal = sqlite_path(repository).with_name("ips.db-wal")

    def wal_growth(add: Callable[[str], None], prefix: str) -> int:
        before = wal.stat().st_size
        add(prefix)
        return wal.stat().st_size - before

    def one_by_one(prefix: str) -> None:
        for i in range(20):
            repository.add_scheduled_job(spec(company, user, f"{prefix}-{i}"))

    def together(prefix: str) -> None:
        calls = [
            (lambda i=i: repository.add_scheduled_job(spec(company, user, f"{prefix}-{i}")))
            for i in range(20)
        ]
        for future in queued_behind_lock(repository, calls):
            future.result()

    separate = wal_growth(one_by_one, "alone")
    grouped = wal_growth(together, "grouped")

    assert len(stored_names(repository)) == 40
    assert grouped * 4 < separate


def test_a_name_in_use_fails_alone(sqlite_repository: SqlJobRepository) -> None:
    repository = sqlite_repository
    company, user = account(repository)
    repository.add_scheduled_job(spec(company, user, "taken"))
    names = ["a", "b", "taken", "c", "d"]
    calls = [(lambda n=n: repository.add_scheduled_job(spec(company, user, n))) for n in names]

    futures = dict(zip(names, queued_behind_lock(repository, calls), strict=True))

    with pytest.raises(NameInUse):
        futures["taken"].result()
    assert sorted(stored_names(repository).values()) == ["a", "b", "c", "d", "taken"]


def test_a_write_that_breaks_fails_alone_and_the_others_are_stored(
    sqlite_repository: SqlJobRepository,
) -> None:
    database = sqlite_repository.db
    with database.write() as conn:
        conn.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))

    def note(body: str) -> Callable[[], None]:
        def work(conn: Connection) -> None:
            conn.exec_driver_sql("INSERT INTO notes (body) VALUES (?)", (body,))

        return lambda: database.write_together(work)

    def broken() -> None:
        database.write_together(lambda conn: conn.exec_driver_sql("SELECT * FROM no_such_table"))

    futures = queued_behind_lock(
        sqlite_repository, [note("one"), note("two"), broken, note("three")]
    )

    with pytest.raises(OperationalError, match="no_such_table"):
        futures[2].result()
    with database.read() as conn:
        bodies = conn.execute(text("SELECT body FROM notes ORDER BY body")).scalars().all()
    assert bodies == ["one", "three", "two"]


def test_no_answer_before_the_commit(sqlite_repository: SqlJobRepository) -> None:
    """A submit waiting for the lock has not answered; once it answers, its row is there."""
    repository = sqlite_repository
    company, user = account(repository)
    calls = [lambda: repository.add_scheduled_job(spec(company, user, "durable"))]

    (future,) = queued_behind_lock(repository, calls)  # asserts it had not answered

    assert stored_names(repository) == {future.result().id: "durable"}


def test_a_transaction_that_cannot_begin_fails_every_caller_instead_of_hanging(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'no-such-folder' / 'ips.db'}")
    try:
        with pytest.raises(OperationalError, match="unable to open database file"):
            database.write_together(lambda conn: conn.exec_driver_sql("SELECT 1"))
    finally:
        database.dispose()


def test_writes_go_on_after_dispose(sqlite_repository: SqlJobRepository) -> None:
    """dispose() stops the writing thread; the next write starts another."""
    repository = sqlite_repository
    company, user = account(repository)
    repository.db.dispose()

    job = repository.add_scheduled_job(spec(company, user, "after"))

    assert stored_names(repository) == {job.id: "after"}
