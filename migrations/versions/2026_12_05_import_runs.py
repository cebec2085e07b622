"""Import runs: `import_runs` and `import_row_errors` (tenant tables under forced RLS),
and on `cases` the source system's id (unique per tenant), the run that created the
case and a digest of the imported record.

Revision ID: 0016_import_runs
Revises: 0015_case_merge
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from closeloop.migrate import enable_tenant_rls

revision = "0016_import_runs"
down_revision = "0015_case_merge"
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
        "import_runs",
        *_base("import_runs"),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("mapping", sa.String(length=100), nullable=False),
        sa.Column("mapping_text", sa.Text(), nullable=True),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("encoding_source", sa.String(length=16), nullable=True),
        sa.Column("delimiter", sa.String(length=4), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'undone')",
            name=op.f("ck_import_runs_status"),
        ),
    )
    op.create_index(
        op.f("ix_import_runs_tenant_id_created_at"), "import_runs", ["tenant_id", "created_at"]
    )
    enable_tenant_rls("import_runs")
    op.create_table(
        "import_row_errors",
        *_base("import_row_errors"),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("row", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["import_runs.tenant_id", "import_runs.id"],
            name=op.f("fk_import_row_errors_tenant_id_run_id_import_runs"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_import_row_errors_tenant_id_run_id_row"),
        "import_row_errors",
        ["tenant_id", "run_id", "row"],
    )
    enable_tenant_rls("import_row_errors")
    op.add_column("cases", sa.Column("external_id", sa.String(length=200), nullable=True))
    op.add_column("cases", sa.Column("import_run_id", sa.Uuid(), nullable=True))
    op.add_column("cases", sa.Column("import_digest", sa.LargeBinary(length=32), nullable=True))
    op.create_unique_constraint(
        op.f("uq_cases_tenant_id_external_id"), "cases", ["tenant_id", "external_id"]
    )
    op.create_foreign_key(
        op.f("fk_cases_tenant_id_import_run_id_import_runs"),
        "cases",
        "import_runs",
        ["tenant_id", "import_run_id"],
        ["tenant_id", "id"],
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_cases_tenant_id_import_run_id_import_runs"), "cases", type_="foreignkey"
    )
    op.drop_constraint(op.f("uq_cases_tenant_id_external_id"), "cases", type_="unique")
    op.drop_column("cases", "import_digest")
    op.drop_column("cases", "import_run_id")
    op.drop_column("cases", "external_id")
    op.drop_table("import_row_errors")
    op.drop_table("import_runs")
