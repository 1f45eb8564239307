"""The database connection: every SQLite/PostgreSQL difference lives here."""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import PoolProxiedConnection

from ips_jobs.errors import ConfigError, EngineBusy, StoreError
from ips_jobs.store.group_commit import GroupCommit

_WRITE = "ips_write"
_NO_BUSY_WAIT = "ips_no_busy_wait"
_READ_CHANGES = "SELECT value FROM change_counter WHERE id = 1"
#: How long a write waits for SQLite's write lock before it fails.
WRITE_LOCK_TIMEOUT = 30.0

T = TypeVar("T")


class Database:
    """Owns the SQLAlchemy engine; hands out read and write transactions."""

    def __init__(self, url: str, pool_size: int = 8) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError(f"IPS_DATABASE_URL: cannot parse {url!r}") from None
        self.url = url
        self.dialect = parsed.get_backend_name()
        self._own = threading.local()
        self._own_connections: list[Any] = []
        self._own_lock = threading.Lock()
        self._write_conn: Connection | None = None
        self._writer_pid = 0
        #: SQLite writers of this process queue here (see write()).
        self._writers = threading.Lock()
        self._group = GroupCommit(self.write)
        if self.dialect == "sqlite":
            self._engine = create_engine(
                parsed, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=4
            )
            _sqlite_pragmas(self._engine)
        elif self.dialect == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            self._engine = create_engine(
                parsed, pool_size=pool_size, max_overflow=4, pool_pre_ping=True
            )
        else:
            raise ConfigError(f"IPS_DATABASE_URL: use sqlite or postgresql, not {self.dialect}")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def sql_dialect(self) -> Dialect:
        return self._engine.dialect

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write: on SQLite it takes the write lock up front, so two
        writers wait for each other instead of failing to upgrade a read lock. The threads of
        one process queue on a lock of ours first: SQLite's busy handler would have them sleep
        up to 100 ms between tries while the lock is mostly free. Behind that lock one
        connection is enough, so SQLite writes keep one of their own instead of a pool
        checkout (and its reset) per transaction."""
        if not self.is_sqlite:
            with self._engine.connect() as conn, conn.begin():
                yield conn
            return
        with self._writers:
            conn = self._writer()
            with conn.begin():
                yield conn

    def write_together(self, work: Callable[[Connection], T]) -> T:
        """`work` in a write transaction: on SQLite one shared with the writes other threads
        of this process hand in meanwhile (see group_commit.py), on PostgreSQL its own. Its
        result once committed. Not for use inside write(): the writing thread waits for it."""
        if not self.is_sqlite:
            with self.write() as conn:
                return work(conn)
        return self._group.run(work)

    def _writer(self) -> Connection:
        """The process's SQLite write connection, made again in a forked child or after
        dispose() (a lost driver connection SQLAlchemy replaces by itself)."""
        pid = os.getpid()
        if self._writer_pid != pid or self._write_conn is None or self._write_conn.closed:
            self._write_conn = self._engine.connect().execution_options(**{_WRITE: True})
            self._writer_pid = pid
        return self._write_conn

    @contextmanager
    def checked_read(self) -> Iterator[Connection]:
        """read(), with driver errors as StoreError (for callers with no constraint to map)."""
        with _as_store_error(), self.read() as conn:
            yield conn

    @contextmanager
    def checked_write(self) -> Iterator[Connection]:
        """write(), with driver errors as StoreError."""
        with _as_store_error(), self.write() as conn:
            yield conn

    def changes(self) -> int:
        """The change counter of accounts and fault rules (alembic 0004: bumped by triggers,
        so every process sees every change). Read on every request, so through a connection
        of the thread's own, outside the pool: a pooled transaction costs 25 times more."""
        with _as_store_error():
            try:
                return self._read_changes()
            except self._engine.dialect.loaded_dbapi.Error:
                self._drop_own_connection()  # e.g. PostgreSQL restarted: one more try
                return self._read_changes()

    def _read_changes(self) -> int:
        conn = getattr(self._own, "connection", None)
        if conn is None:
            conn = self._engine.raw_connection()
            conn.detach()
            if not self.is_sqlite:
                conn.dbapi_connection.autocommit = True
            self._own.connection = conn
            with self._own_lock:
                self._own_connections.append(conn)
        cursor = conn.cursor()
        try:
            cursor.execute(_READ_CHANGES)
            return int(cursor.fetchone()[0])
        finally:
            cursor.close()

    def _drop_own_connection(self) -> None:
        conn = getattr(self._own, "connection", None)
        self._own.connection = None
        if conn is not None:
            with self._own_lock:
                self._own_connections.remove(conn)
            with contextlib.suppress(Exception):
                conn.close()

    def engine_lock(self) -> EngineLock:
        """SQLite has room for one engine per database file: the first process to take this
        lock runs it and others are refused. PostgreSQL engines share work; no lock."""
        url = make_url(self.url)
        if self.is_sqlite and url.database and url.database != ":memory:":
            return FileLock(
                Path(url.database).resolve().with_name(Path(url.database).name + ".engine.lock")
            )
        return NoLock()

    def connect(self) -> Connection:
        return self._engine.connect()

    def dispose(self) -> None:
        self._group.close()
        with self._own_lock:
            owned, self._own_connections = self._own_connections, []
        for conn in owned:
            with contextlib.suppress(Exception):
                conn.close()
        writer, self._write_conn = self._write_conn, None
        if writer is not None and self._writer_pid == os.getpid():
            with contextlib.suppress(Exception):
                writer.invalidate()  # it does not wait for locks: not one for the pool
                writer.close()
        self._engine.dispose()


@contextmanager
def _as_store_error() -> Iterator[None]:
    try:
        yield
    except SQLAlchemyError as exc:
        raise StoreError(f"database error: {exc.__class__.__name__}: {exc}") from exc


class EngineLock(Protocol):
    def acquire(self) -> None:
        """Raises EngineBusy, naming the holder, when another process holds it."""
        ...

    def release(self) -> None: ...


class NoLock:
    def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None


class FileLock:
    """An flock beside the SQLite file; the kernel drops it when the process dies, even by
    SIGKILL, so a crashed engine never blocks the next one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise EngineBusy(
                f"Another process ({holder}) runs the job engine for this SQLite database "
                f"(lock {self.path}); SQLite allows one engine. Stop it, or use PostgreSQL "
                "(IPS_DATABASE_URL) to run several."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def check_sqlite_file(url: str) -> None:
    """Refuses, naming the path and the likely cause, a SQLite file this process could not
    open and write (SQLite itself only says "unable to open database file")."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database).absolute()
    problem = None
    if path.is_dir():
        problem = "it is a folder"
    elif not path.parent.is_dir():
        problem = f"the folder {path.parent} does not exist"
    elif path.exists() and not os.access(path, os.R_OK | os.W_OK):
        problem = "this user may not read and write the file"
    elif not os.access(path.parent, os.W_OK | os.X_OK):
        problem = (
            f"this user may not write in the folder {path.parent} "
            "(SQLite keeps its -wal and -shm files beside the database)"
        )
    if problem is not None:
        raise ConfigError(f"cannot open the SQLite database {path}: {problem}")


def migration_engine(url: str) -> Engine:
    """The engine Alembic migrates with. On SQLite its transactions take the write lock up
    front, waiting their turn, and env.py runs all migrations in one: two processes that
    migrate a new file at once (serve and a worker started together) run one after the
    other, and a migration that fails leaves nothing half done. Foreign keys stay off, as
    SQLite has them by default, so that batch migrations may rebuild a table. Unlike our
    write connections it keeps SQLite's busy timeout: a new file is in rollback-journal mode,
    where the commit must wait for readers (another process's first look at the file)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed)
    engine = create_engine(parsed, connect_args={"timeout": WRITE_LOCK_TIMEOUT})

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        _while_locked(dbapi_conn, "PRAGMA journal_mode=WAL")
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_WRITE, False):
            _begin_immediate(conn.connection)
        else:
            conn.exec_driver_sql("BEGIN")


def _begin_immediate(connection: PoolProxiedConnection) -> None:
    """Takes SQLite's write lock, retrying every millisecond or so: SQLite's own busy handler
    sleeps up to 100 ms between tries, so writers of several processes (HTTP workers, the
    engine) would idle while the lock is free most of the time. The write connection keeps
    no busy timeout of its own (its `info` lives as long as the DBAPI connection does)."""
    dbapi_conn = connection.dbapi_connection
    assert dbapi_conn is not None
    if not connection.info.get(_NO_BUSY_WAIT):
        dbapi_conn.execute("PRAGMA busy_timeout=0")
        connection.info[_NO_BUSY_WAIT] = True
    _while_locked(dbapi_conn, "BEGIN IMMEDIATE")


def _while_locked(dbapi_conn: Any, sql: str) -> None:
    """Runs `sql`, trying again while SQLite says the database is locked, for up to
    WRITE_LOCK_TIMEOUT. Also for the switch to WAL: a fresh file (as `db upgrade` leaves it)
    is in rollback mode, the switch reads the file and then writes it, and SQLite fails a
    reader's turn to writer at once, without its busy handler, while another process holds
    the write lock (two commands started together failed so)."""
    deadline = time.monotonic() + WRITE_LOCK_TIMEOUT
    pause = 0.0005
    while True:
        try:
            dbapi_conn.execute(sql)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 1.5, 0.005)
