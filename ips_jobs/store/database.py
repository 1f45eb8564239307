"""The database connection: every SQLite/PostgreSQL difference lives here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ips_jobs.errors import ConfigError

_WRITE = "ips_write"


class Database:
    """Owns the SQLAlchemy engine; hands out read and write transactions."""

    def __init__(self, url: str, pool_size: int = 8) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise ConfigError(f"IPS_DATABASE_URL: cannot parse {url!r}") from None
        self.url = url
        self.dialect = parsed.get_backend_name()
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

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write: on SQLite it takes the write lock up front, so two
        writers wait for each other instead of failing to upgrade a read lock."""
        with self._engine.connect() as conn:
            conn = conn.execution_options(**{_WRITE: True})
            with conn.begin():
                yield conn

    def connect(self) -> Connection:
        return self._engine.connect()

    def dispose(self) -> None:
        self._engine.dispose()


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
