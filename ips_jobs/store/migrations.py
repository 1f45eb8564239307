"""Runs the Alembic migrations in alembic/ against a database URL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from ips_jobs.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_LOCATION = ROOT / "alembic"


def alembic_config(url: str) -> Config:
    if not SCRIPT_LOCATION.is_dir():
        raise ConfigError(f"migrations not found at {SCRIPT_LOCATION}; install with pip -e")
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()
