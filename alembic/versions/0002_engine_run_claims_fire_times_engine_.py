"""engine: run claims, fire times, engine processes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:14:55.322572
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "engine_processes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_processes")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fire_time", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("notify_email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("step", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index("ix_job_runs_state_claimed_by", ["state", "claimed_by"], unique=False)
        batch_op.create_index(
            "uq_job_runs_scheduled_job_id_fire_time", ["scheduled_job_id", "fire_time"], unique=True
        )

    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_scheduled_jobs_execute_requested_at", ["execute_requested_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_scheduled_jobs_execute_requested_at")

    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("uq_job_runs_scheduled_job_id_fire_time")
        batch_op.drop_index("ix_job_runs_state_claimed_by")
        batch_op.drop_column("step")
        batch_op.drop_column("notify_email")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("fire_time")

    op.drop_table("engine_processes")
