"""Prebuilt statements for the hottest work (submitJob's insert, the engine's fires, claim
and steps, the request journal), run on the driver's cursor.

The SQL and the value conversions are SQLAlchemy's own, worked out once per dialect; what is
skipped is its per-execution machinery (about 100 us of a 600 us submitJob, and a third of
the engine's CPU in its batches). Values are converted before the transaction begins and
rows after it ends, so SQLite's write lock is held for the driver's work only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.sql.expression import Executable

#: The most parameters one SQLite statement may have (the limit of SQLite before 3.32).
_SQLITE_MAX_VARIABLES = 999


def insert_row(table: Table) -> Insert:
    """An INSERT of every column but the primary key, each a parameter named after it."""
    return insert(table).values(
        {column.name: bindparam(column.name) for column in table.c if not column.primary_key}
    )


class DriverStatement:
    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:
            raise ValueError("a driver statement cannot take a list parameter (in_ of a list)")
        self.order: list[str] | None = list(compiled.positiontup or ()) or None
        #: Each parameter: its name, its value when not given (a literal of the statement's
        #: own), and SQLAlchemy's conversion for its type on this dialect.
        self.params: list[tuple[str, Any, Callable[[Any], Any] | None]] = [
            (
                name,
                bind.value,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
            for name, bind in compiled.binds.items()
        ]
        self.names = frozenset(name for name, _, _ in self.params)
        self._by_name = {name: (name, default, convert) for name, default, convert in self.params}
        #: The parameters in the order the driver takes them (positional drivers only).
        self._slots = [self._by_name[name] for name in self.order or ()]
        #: The columns it returns: name and type; their conversions (SQLAlchemy's for the
        #: type, which may depend on what the driver says the column is) come with the rows.
        self._returns = [
            (column.key, column.type.dialect_impl(dialect))
            for column in getattr(statement, "exported_columns", ())
        ]
        self._columns: list[tuple[str, Callable[[Any], Any] | None]] | None = None
        self.dialect = dialect
        self.dbapi = dialect.loaded_dbapi

    def args(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for one row (a parameter not in `values` is NULL, unless
        the statement gave it a value); a value the statement has no place for is a bug."""
        if not self.names.issuperset(values):
            unknown = sorted(values.keys() - self.names)
            raise ValueError(f"not parameters of this statement: {unknown}")
        get = values.get
        if self.order is None:
            return {
                name: get(name, default) if convert is None else convert(get(name, default))
                for name, default, convert in self.params
            }
        return tuple(
            [
                get(name, default) if convert is None else convert(get(name, default))
                for name, default, convert in self._slots
            ]
        )

    def replaced(self, args: Any, name: str, value: Any) -> Any:
        """`args` (of args()) with one parameter set to `value`, converted: for a value known
        only inside the transaction (a new row's id) when the rest was converted before."""
        convert = self._by_name[name][2]
        converted = value if convert is None else convert(value)
        if self.order is None:
            return {**args, name: converted}
        return tuple(
            converted if slot[0] == name else arg
            for slot, arg in zip(self._slots, args, strict=True)
        )

    def one(self, conn: Connection, args: Any) -> Any:
        """Runs the statement once in the connection's transaction; the first column of the
        first row it returns (None if it returns none)."""
        cursor = conn.connection.cursor()
        try:
            self._guarded(cursor.execute, args)
            row = cursor.fetchone() if cursor.description else None
            return None if row is None else row[0]
        finally:
            cursor.close()

    def rows(self, conn: Connection, args: Any) -> list[Sequence[Any]]:
        """Runs the statement once in the connection's transaction; the rows it returns as
        the driver gives them (records() converts them, best after the transaction)."""
        cursor = conn.connection.cursor()
        try:
            self._guarded(cursor.execute, args)
            if self._columns is None:
                self._columns = [
                    (name, impl.result_processor(self.dialect, described[1]))
                    for (name, impl), described in zip(
                        self._returns, cursor.description, strict=True
                    )
                ]
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def records(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        """Driver rows (of rows()) as SQLAlchemy would have read them, by column name."""
        columns = self._columns or []
        return [
            {
                name: value if convert is None else convert(value)
                for (name, convert), value in zip(columns, row, strict=True)
            }
            for row in rows
        ]

    def many(self, conn: Connection, args: Sequence[Any]) -> int:
        """Runs the statement once per row of `args`, in the connection's transaction; the
        number of rows it changed in all."""
        if not args:
            return 0
        cursor = conn.connection.cursor()
        try:
            self._guarded(cursor.executemany, args)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def insert_rows(self, conn: Connection, args: Sequence[Any]) -> None:
        """An INSERT of many rows as few statements (a multi-row VALUES) where the driver
        would run one per row: SQLite's driver lets go of the GIL for every statement, and
        under load each time it took milliseconds to get it back while the write lock was
        held. Other drivers (psycopg pipelines its executemany) run `many`."""
        head, values, group = self.sql.rpartition(" VALUES ")
        if self.order is None or not head.startswith("INSERT") or " RETURNING " in group:
            self.many(conn, args)
            return
        per_statement = max(1, _SQLITE_MAX_VARIABLES // max(1, len(self.order)))
        cursor = conn.connection.cursor()
        try:
            for start in range(0, len(args), per_statement):
                chunk = args[start : start + per_statement]
                sql = head + values + ", ".join([group] * len(chunk))
                self._guarded(cursor.execute, tuple(v for row in chunk for v in row), sql)
        finally:
            cursor.close()

    def _guarded(
        self, call: Callable[[str, Any], Any], args: Any | Iterable[Any], sql: str | None = None
    ) -> None:
        """Driver errors raised as SQLAlchemy's, as if the statement had gone through it."""
        sql = self.sql if sql is None else sql
        try:
            call(sql, args)
        except self.dbapi.IntegrityError as exc:
            raise IntegrityError(sql, args, exc) from exc
        except self.dbapi.Error as exc:
            raise DBAPIError(sql, args, exc) from exc
