"""The tables of notifications: tenant templates, notification records, webhook endpoints
and their delivery log. All are tenant tables under forced row-level security.

No personal data is stored in plain text here: a customer is referenced by
`recipient_customer_id` (the address is decrypted from the customer record when the
message is sent), a staff member by `recipient_user_id`, a webhook by its endpoint; the
webhook secret is stored encrypted under the tenant's data key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, tenant_fk, utcnow

__all__ = ["Notification", "NotificationTemplate", "WebhookDelivery", "WebhookEndpoint"]


class NotificationTemplate(TenantOwned, Base):
    """A tenant's own wording of one event on one channel in one locale. Without one,
    the built-in template of the event and locale is used (`closeloop.notify.templates`)."""

    __tablename__ = "notification_templates"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event", "channel", "locale"),
        CheckConstraint("channel IN ('email', 'inbox', 'webhook')", name="channel"),
        CheckConstraint("locale IN ('zh-CN', 'en')", name="locale"),
    )

    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class WebhookEndpoint(TenantOwned, Base):
    """A URL of the tenant's that receives the events it subscribes to, signed with
    its secret (stored encrypted; never shown again after it is set)."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(200), default="")
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class Notification(TenantOwned, Base):
    """One message to one recipient on one channel: rendered when it is made, then
    `pending` until delivered (`sent`), given up on (`failed`, with `last_error`) or
    never sendable (`skipped`, with the reason in `last_error`)."""

    __tablename__ = "notifications"
    __table_args__ = (
        tenant_fk(["case_id"], "cases", ondelete="CASCADE"),
        tenant_fk(["recipient_user_id"], "users", ondelete="CASCADE"),
        tenant_fk(["recipient_customer_id"], "customers", ondelete="CASCADE"),
        # A deleted endpoint keeps its notifications, no longer pointing at it.
        tenant_fk(["webhook_id"], "webhook_endpoints", ondelete="SET NULL (webhook_id)"),
        CheckConstraint("recipient_kind IN ('user', 'customer', 'webhook')", name="recipient_kind"),
        CheckConstraint("channel IN ('email', 'inbox', 'webhook')", name="channel"),
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'skipped')", name="status"),
        Index(None, "tenant_id", "status", "created_at"),
        Index(None, "tenant_id", "case_id"),
        Index(
            "ix_notifications_inbox",
            "tenant_id",
            "recipient_user_id",
            "created_at",
            postgresql_where=text("channel = 'inbox'"),
        ),
    )

    recipient_kind: Mapped[str] = mapped_column(String(16))
    recipient_user_id: Mapped[uuid.UUID | None]
    recipient_customer_id: Mapped[uuid.UUID | None]
    webhook_id: Mapped[uuid.UUID | None]
    case_id: Mapped[uuid.UUID | None]
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    read_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class WebhookDelivery(TenantOwned, Base):
    """One attempt to POST a notification to a webhook endpoint."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        tenant_fk(["webhook_id"], "webhook_endpoints", ondelete="CASCADE"),
        tenant_fk(["notification_id"], "notifications", ondelete="CASCADE"),
        Index(None, "tenant_id", "webhook_id", "created_at"),
    )

    webhook_id: Mapped[uuid.UUID]
    notification_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
