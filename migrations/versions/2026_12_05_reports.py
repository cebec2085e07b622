"""Reports: `case_facts` (one row per case), `report_daily` (the daily rollup) and
`order_volumes`, tenant tables under forced RLS; an index on the SLA clocks' due time
for the on-time rate.

Revision ID: 0018_reports
Revises: 0017_import_console
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from closeloop.migrate import enable_tenant_rls

revision = "0018_reports"
down_revision = "0017_import_console"
branch_labels = None
depends_on = None

DATED_BY = (
    "received_at",
    "first_response_at",
    "first_resolved_at",
    "closed_at",
    "satisfaction_at",
    "followup_due_by",
    "followup_done_at",
    "made_major_at",
)


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


def _time(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "case_facts",
        *_base("case_facts"),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("merged", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("category_code", sa.String(64), nullable=True),
        sa.Column("severity_code", sa.String(64), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("handler_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("product", sa.String(200), nullable=True),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        _time("received_at", nullable=False),
        _time("first_response_at"),
        sa.Column("first_response_seconds", sa.BigInteger(), nullable=True),
        sa.Column("first_response_business_seconds", sa.BigInteger(), nullable=True),
        _time("first_resolved_at"),
        sa.Column("resolution_seconds", sa.BigInteger(), nullable=True),
        sa.Column("resolution_business_seconds", sa.BigInteger(), nullable=True),
        _time("closed_at"),
        sa.Column("close_seconds", sa.BigInteger(), nullable=True),
        sa.Column("close_business_seconds", sa.BigInteger(), nullable=True),
        sa.Column("waiting_seconds", sa.BigInteger(), nullable=False),
        sa.Column("customer_contacts", sa.Integer(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        _time("first_reopened_at"),
        sa.Column("reopened_in_window", sa.Boolean(), nullable=False),
        sa.Column("breached_targets", sa.ARRAY(sa.String(32)), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        _time("made_major_at"),
        sa.Column("satisfaction", sa.String(32), nullable=True),
        sa.Column("satisfied", sa.Boolean(), nullable=True),
        _time("satisfaction_at"),
        _time("followup_due_by"),
        _time("followup_done_at"),
        sa.Column("followup_outcome", sa.String(32), nullable=True),
        sa.Column("responsible_party", sa.String(16), nullable=True),
        sa.Column("solution_type", sa.String(64), nullable=True),
        sa.Column("third_party", sa.String(200), nullable=True),
        _time("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_case_facts_tenant_id_id_cases"),
            ondelete="CASCADE",
        ),
    )
    for column in DATED_BY:
        op.create_index(f"ix_case_facts_{column}", "case_facts", ["tenant_id", column])
    enable_tenant_rls("case_facts")

    op.create_table(
        "report_daily",
        *_base("report_daily"),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(64), nullable=False),
        sa.Column("department", sa.String(36), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint(
            "tenant_id",
            "day",
            "measure",
            "kind",
            "channel",
            "category",
            "severity",
            "department",
            name="uq_report_daily_bucket",
        ),
    )
    enable_tenant_rls("report_daily")

    op.create_table(
        "order_volumes",
        *_base("order_volumes"),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        _time("updated_at", nullable=False),
        sa.UniqueConstraint(
            "tenant_id",
            "date_from",
            "date_to",
            name=op.f("uq_order_volumes_tenant_id_date_from_date_to"),
        ),
        sa.CheckConstraint("date_from <= date_to", name=op.f("ck_order_volumes_range")),
        sa.CheckConstraint("orders >= 0", name=op.f("ck_order_volumes_orders")),
    )
    enable_tenant_rls("order_volumes")
    op.create_index("ix_sla_clocks_tenant_id_due_at", "sla_clocks", ["tenant_id", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_tenant_id_due_at", table_name="sla_clocks")
    op.drop_table("order_volumes")
    op.drop_table("report_daily")
    op.drop_table("case_facts")
