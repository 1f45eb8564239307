"""runs can be held by pauseJob; executeJob makes its run at once (no execute request column)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("paused_at", sa.DateTime(), nullable=True))
    # An executeJob not yet taken by an engine becomes the job's next fire time, so that it
    # is not lost with its column (the engine then makes the run as for any due job).
    op.execute(
        "UPDATE scheduled_jobs SET next_fire_time = execute_requested_at "
        "WHERE execute_requested_at IS NOT NULL AND trigger_state = 'Normal' "
        "AND (next_fire_time IS NULL OR next_fire_time > execute_requested_at)"
    )
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.drop_index("ix_scheduled_jobs_execute_requested_at")
        batch.drop_column("execute_requested_at")


def downgrade() -> None:
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.add_column(sa.Column("execute_requested_at", sa.DateTime(), nullable=True))
        batch.create_index(
            "ix_scheduled_jobs_execute_requested_at", ["execute_requested_at"], unique=False
        )
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_column("paused_at")
