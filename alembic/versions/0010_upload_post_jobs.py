"""uploadPost jobs: runs that wait for their client (client_address, waits_until) and the
files posted to them (posted_files)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 21:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("job_runs") as batch:
        batch.add_column(sa.Column("client_address", sa.String(64)))
        batch.add_column(sa.Column("waits_until", sa.DateTime()))
        batch.create_index("ix_job_runs_waits_until", ["waits_until"])
    op.create_table(
        "posted_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.Column("file_key", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["job_runs.id"],
            name=op.f("fk_posted_files_run_id_job_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posted_files")),
    )
    op.create_index("ix_posted_files_run_id", "posted_files", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_posted_files_run_id", table_name="posted_files")
    op.drop_table("posted_files")
    with op.batch_alter_table("job_runs") as batch:
        batch.drop_index("ix_job_runs_waits_until")
        batch.drop_column("waits_until")
        batch.drop_column("client_address")
