"""Plugins: each tenant's setup of the installed plugins (`tenant_plugins`) and what
plugins said about cases (`case_findings`); two tenant tables under forced RLS.

Revision ID: 0007_plugins
Revises: 0006_sla
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from closeloop.migrate import enable_tenant_rls

revision = "0007_plugins"
down_revision = "0006_sla"
branch_labels = None
depends_on = None


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "tenant_plugins",
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("settings", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("failure_threshold", sa.Integer(), nullable=True),
        sa.Column("time_budget_ms", sa.Integer(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        *_tenant_columns(),
        _tenant_fk("tenant_plugins"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tenant_plugins")),
        sa.UniqueConstraint("tenant_id", "plugin", name=op.f("uq_tenant_plugins_tenant_id_plugin")),
    )
    enable_tenant_rls("tenant_plugins")

    op.create_table(
        "case_findings",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("version", sa.String(length=50), nullable=False),
        sa.Column("hook", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("correlation_key", sa.String(length=300), nullable=True),
        sa.Column("notes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        *_tenant_columns(),
        sa.CheckConstraint("status IN ('ok', 'failed')", name=op.f("ck_case_findings_status")),
        _tenant_fk("case_findings"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_case_findings_tenant_id_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_case_findings")),
    )
    op.create_index(
        op.f("ix_case_findings_tenant_id_case_id_created_at"),
        "case_findings",
        ["tenant_id", "case_id", "created_at"],
    )
    op.create_index(
        "ix_case_findings_correlation",
        "case_findings",
        ["tenant_id", "plugin", "correlation_key"],
        postgresql_where=sa.text("correlation_key IS NOT NULL"),
    )
    enable_tenant_rls("case_findings")


def downgrade() -> None:
    op.drop_table("case_findings")
    op.drop_table("tenant_plugins")
