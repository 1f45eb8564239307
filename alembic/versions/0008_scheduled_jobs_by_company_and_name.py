"""scheduled_jobs by company and name: a plain index beside the partial unique one

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 02:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The unique index holds only live jobs (trigger_state <> 'Complete'): a lookup by name
    # that also finds finished ones (the job log's, deleteJob's) could not use it and read
    # every job of every company.
    op.create_index("ix_scheduled_jobs_company_id_name", "scheduled_jobs", ["company_id", "name"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_jobs_company_id_name", table_name="scheduled_jobs")
