"""control plane: fault rules, run controls, journal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 11:37:30.342286
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fault_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("job_name", sa.String(length=200), nullable=True),
        sa.Column("job_type", sa.String(length=60), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("effect", sa.String(length=20), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("hits", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fault_rules")),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=True),
        sa.Column("caller", sa.String(length=320), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("fault_code", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal")),
    )
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.create_index("ix_journal_at", ["at"], unique=False)
        batch_op.create_index("ix_journal_operation", ["operation"], unique=False)

    op.create_table(
        "run_controls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_type", sa.String(length=60), nullable=True),
        sa.Column("job_name", sa.String(length=200), nullable=True),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("manual", sa.Boolean(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_controls")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seconds", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("manual", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("advance_to", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("advance_outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("injected", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_column("injected")
        batch_op.drop_column("advance_outcome")
        batch_op.drop_column("advance_to")
        batch_op.drop_column("manual")
        batch_op.drop_column("seconds")

    op.drop_table("run_controls")
    with op.batch_alter_table("journal", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_operation")
        batch_op.drop_index("ix_journal_at")

    op.drop_table("journal")
    op.drop_table("fault_rules")
