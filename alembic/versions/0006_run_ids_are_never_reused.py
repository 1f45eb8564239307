"""run ids are never reused: job_runs is AUTOINCREMENT on SQLite

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 00:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL's sequence never goes back by itself (a reset leaves it alone); SQLite hands
    # out max(id) + 1, so after a reset (or the newest run deleted) an id came round again.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "job_runs", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "job_runs", recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
