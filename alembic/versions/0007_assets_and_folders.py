"""assets and folders: folders (each company's root folder made by a trigger), assets, their
keywords and publications

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 01:44:23.131257
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Every company has its root folder, whoever inserts the company (the CLI, a seed, a reset's
#: demo account): the database makes it, as it makes the existing companies' below.
_ADD_ROOT = (
    "INSERT INTO folders (company_id, parent_id, path, created_at, modified_at, "
    "child_modified_at) VALUES (NEW.id, NULL, NEW.root_path, NEW.created_at, NEW.created_at, "
    "NEW.created_at)"
)
_LIVE = sa.text("trash_state = 'NotInTrash'")


def upgrade() -> None:
    op.create_table(
        "folders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.Column("child_modified_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_folders_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["folders.id"],
            name=op.f("fk_folders_parent_id_folders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folders")),
    )
    with op.batch_alter_table("folders") as batch_op:
        batch_op.create_index("ix_folders_parent_id", ["parent_id"], unique=False)
        batch_op.create_index("uq_folders_company_id_path", ["company_id", "path"], unique=True)

    op.create_table(
        "assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("sub_type", sa.String(length=40), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("ready_for_publish", sa.Boolean(), nullable=False),
        sa.Column("trash_state", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("modified_at", sa.DateTime(), nullable=False),
        sa.Column("modified_by", sa.String(length=320), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sku", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("user_data", sa.Text(), nullable=True),
        sa.Column("info", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_assets_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["folders.id"],
            name=op.f("fk_assets_folder_id_folders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("assets") as batch_op:
        batch_op.create_index(
            "ix_assets_company_id_trash_state_id",
            ["company_id", "trash_state", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_assets_folder_id_trash_state_id_type",
            ["folder_id", "trash_state", "id", "type"],
            unique=False,
        )
        batch_op.create_index(
            "uq_assets_company_id_name",
            ["company_id", "name"],
            unique=True,
            sqlite_where=_LIVE,
            postgresql_where=_LIVE,
        )

    op.create_table(
        "asset_keywords",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("keyword", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_keywords_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("asset_id", "keyword", name=op.f("pk_asset_keywords")),
    )
    op.create_table(
        "asset_publications",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("server_name", sa.String(length=100), nullable=False),
        sa.Column("context_name", sa.String(length=100), nullable=False),
        sa.Column("publish_format", sa.String(length=40), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_publications_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "asset_id", "server_name", "context_name", name=op.f("pk_asset_publications")
        ),
    )

    op.execute(
        "INSERT INTO folders (company_id, parent_id, path, created_at, modified_at, "
        "child_modified_at) SELECT id, NULL, root_path, created_at, created_at, created_at "
        "FROM companies"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION add_root_folder() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {_ADD_ROOT}; RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER companies_root_folder AFTER INSERT ON companies "
            "FOR EACH ROW EXECUTE FUNCTION add_root_folder()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER companies_root_folder AFTER INSERT ON companies BEGIN {_ADD_ROOT}; END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER companies_root_folder ON companies")
        op.execute("DROP FUNCTION add_root_folder()")
    else:
        op.execute("DROP TRIGGER companies_root_folder")
    op.drop_table("asset_publications")
    op.drop_table("asset_keywords")
    op.drop_table("assets")
    op.drop_table("folders")
