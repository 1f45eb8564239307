"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:06:13.319517
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "companies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("root_path", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_companies")),
        sa.UniqueConstraint("name", name=op.f("uq_companies_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("first_name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("last_name", sa.String(length=100), server_default="", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "memberships",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_memberships_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "company_id", name=op.f("pk_memberships")),
    )
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("submit_user_id", sa.Integer(), nullable=False),
        sa.Column("email_user_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("exec_time", sa.DateTime(), nullable=True),
        sa.Column("exec_schedule", sa.String(length=200), nullable=True),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("next_fire_time", sa.DateTime(), nullable=True),
        sa.Column("trigger_state", sa.String(length=20), nullable=False),
        sa.Column("execute_requested_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_scheduled_jobs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["email_user_id"], ["users.id"], name=op.f("fk_scheduled_jobs_email_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["submit_user_id"], ["users.id"], name=op.f("fk_scheduled_jobs_submit_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_jobs")),
    )
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_scheduled_jobs_next_fire_time", ["next_fire_time"], unique=False)
        batch_op.create_index(
            "uq_scheduled_jobs_live_name",
            ["company_id", "name"],
            unique=True,
            sqlite_where=sa.text("trigger_state <> 'Complete'"),
            postgresql_where=sa.text("trigger_state <> 'Complete'"),
        )

    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_job_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=240), nullable=False),
        sa.Column("original_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("submit_user_id", sa.Integer(), nullable=True),
        sa.Column("submit_user_email", sa.String(length=320), nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("server_name", sa.String(length=100), nullable=False),
        sa.Column("trigger_time", sa.DateTime(), nullable=False),
        sa.Column("start_date", sa.DateTime(), nullable=False),
        sa.Column("total_size", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("progress_message", sa.Text(), server_default="", nullable=False),
        sa.Column("last_progress_update", sa.DateTime(), nullable=True),
        sa.Column("tasks", sa.JSON(), nullable=False),
        sa.Column("log_type", sa.String(length=60), server_default="", nullable=False),
        sa.Column("job_sub_type", sa.String(length=40), server_default="", nullable=False),
        sa.Column("end_date", sa.DateTime(), nullable=True),
        sa.Column("file_success_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_warning_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_duplicate_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_update_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_file_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfer_success_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfer_error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfer_warning_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fatal_error", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("stop_requested_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_job_runs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scheduled_job_id"],
            ["scheduled_jobs.id"],
            name=op.f("fk_job_runs_scheduled_job_id_scheduled_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["submit_user_id"], ["users.id"], name=op.f("fk_job_runs_submit_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_job_runs_company_id_original_name", ["company_id", "original_name"], unique=False
        )
        batch_op.create_index(
            "ix_job_runs_company_id_start_date", ["company_id", "start_date"], unique=False
        )
        batch_op.create_index("ix_job_runs_company_id_state", ["company_id", "state"], unique=False)
        batch_op.create_index("uq_job_runs_company_id_name", ["company_id", "name"], unique=True)

    op.create_table(
        "job_log_details",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("date_created", sa.DateTime(), nullable=False),
        sa.Column("log_type", sa.String(length=60), nullable=False),
        sa.Column("log_message", sa.Text(), nullable=False),
        sa.Column("asset_name", sa.Text(), nullable=True),
        sa.Column("asset_type", sa.String(length=40), nullable=True),
        sa.Column("asset_handle", sa.String(length=200), nullable=True),
        sa.Column("aux", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["job_runs.id"],
            name=op.f("fk_job_log_details_run_id_job_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_log_details")),
    )
    with op.batch_alter_table("job_log_details", schema=None) as batch_op:
        batch_op.create_index("ix_job_log_details_asset_handle", ["asset_handle"], unique=False)
        batch_op.create_index(
            "ix_job_log_details_run_id_date_created", ["run_id", "date_created"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("job_log_details", schema=None) as batch_op:
        batch_op.drop_index("ix_job_log_details_run_id_date_created")
        batch_op.drop_index("ix_job_log_details_asset_handle")

    op.drop_table("job_log_details")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_job_runs_company_id_name")
        batch_op.drop_index("ix_job_runs_company_id_state")
        batch_op.drop_index("ix_job_runs_company_id_start_date")
        batch_op.drop_index("ix_job_runs_company_id_original_name")

    op.drop_table("job_runs")
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_scheduled_jobs_live_name",
            sqlite_where=sa.text("trigger_state <> 'Complete'"),
            postgresql_where=sa.text("trigger_state <> 'Complete'"),
        )
        batch_op.drop_index("ix_scheduled_jobs_next_fire_time")

    op.drop_table("scheduled_jobs")
    op.drop_table("memberships")
    op.drop_table("users")
    op.drop_table("companies")
