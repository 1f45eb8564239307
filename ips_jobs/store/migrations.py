"""Runs the Alembic migrations (alembic/ in the repository, shipped as ips_jobs.alembic)
against a database URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ips_jobs import resources
from ips_jobs.errors import ConfigError, StoreError
from ips_jobs.store.database import check_sqlite_file


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.migrations_folder()))
    config.attributes["url"] = url
    return config


@contextmanager
def _wrapped(url: str) -> Iterator[None]:
    """As in the repository, no driver error leaves the store; a bad URL is a ConfigError."""
    try:
        backend = make_url(url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ConfigError(f"IPS_DATABASE_URL: use sqlite or postgresql, not {backend}")
        check_sqlite_file(url)
        yield
    except ArgumentError:
        raise ConfigError(f"IPS_DATABASE_URL: cannot parse {url!r}") from None
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]
        raise StoreError(f"database error: {exc.__class__.__name__}: {reason}") from exc


def migrate(url: str, report: Callable[[str], object]) -> None:
    """Upgrades to the newest revision, telling `report` when there is something to do."""
    current, head = current_revision(url), head_revision(url)
    if current != head:
        report(f"migrating the database from {current or 'empty'} to {head}")
        upgrade(url)


def upgrade(url: str, revision: str = "head") -> None:
    with _wrapped(url):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    with _wrapped(url):
        command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    with _wrapped(url):
        return _current_revision(url)


def _current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()
