"""The console's import page: `import_uploads` (files kept before any run starts) and
`import_mappings` (mappings a tenant saved by name), tenant tables under forced RLS.

Revision ID: 0017_import_console
Revises: 0016_import_runs
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from closeloop.migrate import enable_tenant_rls

revision = "0017_import_console"
down_revision = "0016_import_runs"
branch_labels = None
depends_on = None


def _base(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "import_uploads",
        *_base("import_uploads"),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        op.f("ix_import_uploads_tenant_id_created_at"),
        "import_uploads",
        ["tenant_id", "created_at"],
    )
    enable_tenant_rls("import_uploads")
    op.create_table(
        "import_mappings",
        *_base("import_mappings"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_import_mappings_tenant_id_name")),
    )
    enable_tenant_rls("import_mappings")


def downgrade() -> None:
    op.drop_table("import_mappings")
    op.drop_table("import_uploads")
