"""journal.transport: how each call came (SOAP 1.1, SOAP 1.2, or AEM's envelope-less XML)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The entries from before were all SOAP; which version is not known: 1.1, by far the
    # most common, is what they get.
    op.add_column(
        "journal",
        sa.Column("transport", sa.String(20), nullable=False, server_default="SOAP 1.1"),
    )


def downgrade() -> None:
    with op.batch_alter_table("journal") as batch:
        batch.drop_column("transport")
