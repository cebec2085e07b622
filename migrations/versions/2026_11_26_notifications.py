"""Notifications: tenant templates, notification records, webhook endpoints and their
delivery log; four tenant tables under forced RLS.

Revision ID: 0005_notifications
Revises: 0004_calendars
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from closeloop.migrate import enable_tenant_rls

revision = "0005_notifications"
down_revision = "0004_calendars"
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


def _updated_at() -> sa.Column[object]:
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"],
        ["tenants.id"],
        name=op.f(f"fk_{table}_tenant_id_tenants"),
        ondelete="CASCADE",
    )


def _fk(
    table: str, column: str, target: str, ondelete: str | None = "CASCADE"
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "notification_templates",
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _updated_at(),
        *_tenant_columns(),
        sa.CheckConstraint(
            "channel IN ('email', 'inbox', 'webhook')",
            name=op.f("ck_notification_templates_channel"),
        ),
        sa.CheckConstraint(
            "locale IN ('zh-CN', 'en')", name=op.f("ck_notification_templates_locale")
        ),
        _tenant_fk("notification_templates"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notification_templates")),
        sa.UniqueConstraint(
            "tenant_id",
            "event",
            "channel",
            "locale",
            name=op.f("uq_notification_templates_tenant_id_event_channel_locale"),
        ),
    )
    enable_tenant_rls("notification_templates")

    op.create_table(
        "webhook_endpoints",
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(length=40)), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _updated_at(),
        *_tenant_columns(),
        _tenant_fk("webhook_endpoints"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_endpoints")),
    )
    enable_tenant_rls("webhook_endpoints")

    op.create_table(
        "notifications",
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_user_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_customer_id", sa.Uuid(), nullable=True),
        sa.Column("webhook_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        _updated_at(),
        *_tenant_columns(),
        sa.CheckConstraint(
            "recipient_kind IN ('user', 'customer', 'webhook')",
            name=op.f("ck_notifications_recipient_kind"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'inbox', 'webhook')", name=op.f("ck_notifications_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'skipped')",
            name=op.f("ck_notifications_status"),
        ),
        _tenant_fk("notifications"),
        _fk("notifications", "case_id", "cases"),
        _fk("notifications", "recipient_user_id", "users"),
        _fk("notifications", "recipient_customer_id", "customers"),
        _fk("notifications", "webhook_id", "webhook_endpoints", ondelete="SET NULL (webhook_id)"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_tenant_id_status_created_at"),
        "notifications",
        ["tenant_id", "status", "created_at"],
    )
    op.create_index(
        op.f("ix_notifications_tenant_id_case_id"), "notifications", ["tenant_id", "case_id"]
    )
    op.create_index(
        "ix_notifications_inbox",
        "notifications",
        ["tenant_id", "recipient_user_id", "created_at"],
        postgresql_where=sa.text("channel = 'inbox'"),
    )
    enable_tenant_rls("notifications")

    op.create_table(
        "webhook_deliveries",
        sa.Column("webhook_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        *_tenant_columns(),
        _tenant_fk("webhook_deliveries"),
        _fk("webhook_deliveries", "webhook_id", "webhook_endpoints"),
        _fk("webhook_deliveries", "notification_id", "notifications"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_tenant_id_webhook_id_created_at"),
        "webhook_deliveries",
        ["tenant_id", "webhook_id", "created_at"],
    )
    enable_tenant_rls("webhook_deliveries")


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("notifications")
    op.drop_table("webhook_endpoints")
    op.drop_table("notification_templates")
