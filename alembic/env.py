"""Alembic environment: the URL comes from the caller (ips_jobs.store.migrations) or from
ips_jobs.config; the target metadata is store.tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from ips_jobs.config import Settings
from ips_jobs.store.database import migration_engine
from ips_jobs.store.tables import metadata

_PG_LOCK = 7_451_290  # any constant: serialises concurrent upgrades on PostgreSQL


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or Settings.from_env().database_url
    engine = migration_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                with conn.begin():  # BEGIN IMMEDIATE: one migrating process at a time
                    _run(conn)
            else:
                _run(conn)
    finally:
        engine.dispose()  # also after a failed migration: no connection left to the GC


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        if context.get_context().dialect.name == "postgresql":
            context.execute(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_LOCK))
        context.run_migrations()


run_migrations()
