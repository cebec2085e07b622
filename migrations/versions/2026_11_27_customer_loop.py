"""Customer loop: satisfaction surveys and follow-up tasks; two tenant tables under
forced RLS.

Revision ID: 0008_customer_loop
Revises: 0007_plugins
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from closeloop.migrate import enable_tenant_rls

revision = "0008_customer_loop"
down_revision = "0007_plugins"
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


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        *_tenant_columns(),
        _tenant_fk("surveys"),
        _fk("surveys", "case_id", "cases", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_surveys")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_surveys_tenant_id_token_hash")
        ),
    )
    op.create_index(
        op.f("ix_surveys_tenant_id_case_id_cycle"), "surveys", ["tenant_id", "case_id", "cycle"]
    )
    enable_tenant_rls("surveys")

    op.create_table(
        "followup_tasks",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(length=80), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        *_tenant_columns(),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'cancelled')", name=op.f("ck_followup_tasks_status")
        ),
        _tenant_fk("followup_tasks"),
        _fk("followup_tasks", "case_id", "cases", ondelete="CASCADE"),
        _fk("followup_tasks", "assignee_id", "users"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_followup_tasks")),
    )
    op.create_index(
        op.f("ix_followup_tasks_tenant_id_case_id"), "followup_tasks", ["tenant_id", "case_id"]
    )
    op.create_index(
        op.f("ix_followup_tasks_tenant_id_status_due_by"),
        "followup_tasks",
        ["tenant_id", "status", "due_by"],
    )
    op.create_index(
        op.f("ix_followup_tasks_tenant_id_assignee_id_status_due_by"),
        "followup_tasks",
        ["tenant_id", "assignee_id", "status", "due_by"],
    )
    # At most one open follow-up per case.
    op.create_index(
        "uq_followup_tasks_open_case",
        "followup_tasks",
        ["tenant_id", "case_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    enable_tenant_rls("followup_tasks")


def downgrade() -> None:
    op.drop_table("followup_tasks")
    op.drop_table("surveys")
