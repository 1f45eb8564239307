"""Runs the Alembic migrations in alembic/ against a database URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ips_jobs.errors import ConfigError, StoreError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_LOCATION = ROOT / "alembic"


def alembic_config(url: str) -> Config:
    if not SCRIPT_LOCATION.is_dir():
        raise ConfigError(f"migrations not found at {SCRIPT_LOCATION}; install with pip -e")
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["url"] = url
    return config


@contextmanager
def _wrapped(url: str) -> Iterator[None]:
    """As in the repository, no driver error leaves the store; a bad URL is a ConfigError."""
    try:
        backend = make_url(url).get_backend_name()
        if backend not in ("sqlite", "postgresql"):
            raise ConfigError(f"IPS_DATABASE_URL: use sqlite or postgresql, not {backend}")
        yield
    except ArgumentError:
        raise ConfigError(f"IPS_DATABASE_URL: cannot parse {url!r}") from None
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]
        raise StoreError(f"database error: {exc.__class__.__name__}: {reason}") from exc


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
