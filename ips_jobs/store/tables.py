"""The tables, as SQLAlchemy Core metadata; Alembic migrations are checked against these."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every database (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

companies = Table(
    "companies",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("root_path", String(400), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(40), nullable=False),
    Column("first_name", String(100), nullable=False, server_default=""),
    Column("last_name", String(100), nullable=False, server_default=""),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), primary_key=True),
)

scheduled_jobs = Table(
    "scheduled_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("submit_user_id", ForeignKey("users.id"), nullable=False),
    Column("email_user_id", ForeignKey("users.id"), nullable=False),
    Column("locale", String(20)),
    Column("description", Text),
    Column("exec_time", UtcDateTime),
    Column("exec_schedule", String(200)),
    Column("time_zone", String(64), nullable=False),
    Column("next_fire_time", UtcDateTime),
    Column("trigger_state", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(
        "uq_scheduled_jobs_live_name",
        "company_id",
        "name",
        unique=True,
        sqlite_where=text("trigger_state <> 'Complete'"),
        postgresql_where=text("trigger_state <> 'Complete'"),
    ),
    Index("ix_scheduled_jobs_next_fire_time", "next_fire_time"),
    Index("ix_scheduled_jobs_company_id_name", "company_id", "name"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    Column("scheduled_job_id", ForeignKey("scheduled_jobs.id", ondelete="SET NULL")),
    Column("name", String(240), nullable=False),
    Column("original_name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("submit_user_id", ForeignKey("users.id")),
    Column("submit_user_email", String(320), nullable=False),
    Column("locale", String(20)),
    Column("description", Text),
    Column("state", String(20), nullable=False),
    Column("server_name", String(100), nullable=False),
    Column("trigger_time", UtcDateTime, nullable=False),
    Column("start_date", UtcDateTime, nullable=False),
    Column("total_size", Integer, nullable=False, server_default="0"),
    Column("progress", Integer, nullable=False, server_default="0"),
    Column("progress_message", Text, nullable=False, server_default=""),
    Column("last_progress_update", UtcDateTime),
    Column("tasks", JSON, nullable=False),
    Column("log_type", String(60), nullable=False, server_default=""),
    Column("job_sub_type", String(40), nullable=False, server_default=""),
    Column("end_date", UtcDateTime),
    Column("file_success_count", Integer, nullable=False, server_default="0"),
    Column("file_error_count", Integer, nullable=False, server_default="0"),
    Column("file_warning_count", Integer, nullable=False, server_default="0"),
    Column("file_duplicate_count", Integer, nullable=False, server_default="0"),
    Column("file_update_count", Integer, nullable=False, server_default="0"),
    Column("total_file_count", Integer, nullable=False, server_default="0"),
    Column("transfer_success_count", Integer, nullable=False, server_default="0"),
    Column("transfer_error_count", Integer, nullable=False, server_default="0"),
    Column("transfer_warning_count", Integer, nullable=False, server_default="0"),
    Column("fatal_error", Boolean, nullable=False, server_default="0"),
    Column("stop_requested_at", UtcDateTime),
    Column("fire_time", UtcDateTime),
    Column("claimed_by", String(64)),
    Column("notify_email", String(320)),
    Column("seconds", Float),
    Column("manual", Boolean, nullable=False, server_default="0"),
    Column("advance_to", Integer),
    Column("advance_outcome", String(20)),
    Column("injected", JSON),
    Column("step", Integer, nullable=False, server_default="0"),
    Column("paused_at", UtcDateTime),
    Column("client_address", String(64)),
    Column("waits_until", UtcDateTime),
    Index("uq_job_runs_company_id_name", "company_id", "name", unique=True),
    Index("uq_job_runs_scheduled_job_id_fire_time", "scheduled_job_id", "fire_time", unique=True),
    Index("ix_job_runs_state_claimed_by", "state", "claimed_by"),
    Index("ix_job_runs_company_id_state", "company_id", "state"),
    Index("ix_job_runs_company_id_original_name", "company_id", "original_name"),
    Index("ix_job_runs_company_id_start_date", "company_id", "start_date"),
    Index("ix_job_runs_waits_until", "waits_until"),
    # a run id is never used again, even after a reset empties the table: an engine may
    # still hold a run of that id in memory (PostgreSQL's sequence does this by itself)
    sqlite_autoincrement=True,
)

#: The files posted to an uploadPost job (UploadFile), kept in the file store until its run
#: makes them assets.
posted_files = Table(
    "posted_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("job_runs.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1000), nullable=False),
    Column("file_key", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    Index("ix_posted_files_run_id", "run_id"),
)

engine_processes = Table(
    "engine_processes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(200), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

fault_rules = Table(
    "fault_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("operation", String(60)),
    Column("company_id", Integer),
    Column("job_name", String(200)),
    Column("job_type", String(60)),
    Column("probability", Float),
    Column("remaining", Integer),
    Column("effect", String(20), nullable=False),
    Column("code", Integer),
    Column("reason", Text),
    Column("http_status", Integer),
    Column("latency_ms", Integer),
    Column("hits", Integer, nullable=False, server_default="0"),
)

#: One row, bumped by database triggers (alembic 0004) whenever companies, users, memberships
#: or fault rules change, in any process: the HTTP workers cache those while it stands still.
change_counter = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("value", BigInteger, nullable=False),
)

run_controls = Table(
    "run_controls",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_type", String(60)),
    Column("job_name", String(200)),
    Column("seconds", Float),
    Column("manual", Boolean, nullable=False, server_default="0"),
)

journal = Table(
    "journal",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("operation", String(60)),
    Column("caller", String(320)),
    Column("status", Integer, nullable=False),
    Column("fault_code", Integer),
    Column("duration_ms", Float, nullable=False),
    Column("request", Text, nullable=False),
    Column("response", Text, nullable=False),
    Column("transport", String(20), nullable=False, server_default="SOAP 1.1"),
    Index("ix_journal_at", "at"),
    Index("ix_journal_operation", "operation"),
)

job_log_details = Table(
    "job_log_details",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", ForeignKey("job_runs.id", ondelete="CASCADE"), nullable=False),
    Column("date_created", UtcDateTime, nullable=False),
    Column("log_type", String(60), nullable=False),
    Column("log_message", Text, nullable=False),
    Column("asset_name", Text),
    Column("asset_type", String(40)),
    Column("asset_handle", String(200)),
    Column("aux", JSON, nullable=False),
    Index("ix_job_log_details_run_id_date_created", "run_id", "date_created"),
    Index("ix_job_log_details_asset_handle", "asset_handle"),
)

#: Every folder of a company, its root folder (`companies.root_path`) included: a trigger of
#: alembic 0007 makes it with the company. A path names its folder, so it is unique.
folders = Table(
    "folders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", ForeignKey("folders.id", ondelete="CASCADE")),
    Column("path", String(500), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("child_modified_at", UtcDateTime, nullable=False),
    Index("uq_folders_company_id_path", "company_id", "path", unique=True),
    Index("ix_folders_parent_id", "parent_id"),
)

#: The asset info fields a search or sort reads are columns; the others live in `info` (JSON).
assets = Table(
    "assets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("company_id", ForeignKey("companies.id", ondelete="CASCADE"), nullable=False),
    Column("folder_id", ForeignKey("folders.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("type", String(40), nullable=False),
    Column("sub_type", String(40)),
    Column("file_name", String(255), nullable=False),
    Column("ready_for_publish", Boolean, nullable=False),
    Column("trash_state", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(320), nullable=False),
    Column("modified_at", UtcDateTime, nullable=False),
    Column("modified_by", String(320), nullable=False),
    Column("file_size", BigInteger),
    Column("width", Integer),
    Column("height", Integer),
    Column("sku", Text),
    Column("description", Text),
    Column("comments", Text),
    Column("user_data", Text),
    Column("info", JSON, nullable=False),
    # An asset name is taken once among the assets not in the trash (the predicate is written
    # out in queries too: SQLite uses a partial index only for the literal condition).
    Index(
        "uq_assets_company_id_name",
        "company_id",
        "name",
        unique=True,
        sqlite_where=text("trash_state = 'NotInTrash'"),
        postgresql_where=text("trash_state = 'NotInTrash'"),
    ),
    # searchAssets by folder: a page in creation order read straight off the index, and its
    # total counted in the index alone, also when filtered by type
    Index("ix_assets_folder_id_trash_state_id_type", "folder_id", "trash_state", "id", "type"),
    # searchAssets over the whole company
    Index("ix_assets_company_id_trash_state_id", "company_id", "trash_state", "id"),
    # an id in a handle is never given to another asset, even after the first is purged
    sqlite_autoincrement=True,
)

asset_keywords = Table(
    "asset_keywords",
    metadata,
    Column("asset_id", ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True),
    Column("keyword", String(255), primary_key=True),
)

#: getAssetPublishHistory: one row per asset, server and context, moved on by each publish.
asset_publications = Table(
    "asset_publications",
    metadata,
    Column("asset_id", ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True),
    Column("server_name", String(100), primary_key=True),
    Column("context_name", String(100), primary_key=True),
    Column("publish_format", String(40)),
    Column("published_at", UtcDateTime, nullable=False),
)
