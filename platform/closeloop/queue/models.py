"""The tables of background work: the outbox, processed messages, dead letters, schedules.

`outbox_messages`, `processed_messages` and `dead_letters` are tenant-owned (forced RLS
like every tenant table). The relay and the operators' dead-letter list must see every
tenant's rows; they do so only through narrow SECURITY DEFINER functions created by the
migration (see `closeloop.queue.relay`). `scheduled_runs` is platform-level: one row per
periodic sweep name, so several scheduler processes tick each sweep once per period.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = ["DeadLetter", "OutboxMessage", "OutboxStatus", "ProcessedMessage", "ScheduledRun"]


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"


class OutboxMessage(TenantOwned, Base):
    """A job written in the transaction of the change that asks for it.

    `id` becomes the Dramatiq message id, so a message sent twice (relay died between
    sending and marking) is recognised by the actor as the same message.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent')", name="status"),
        # The relay's claim: pending rows by due time, across tenants.
        Index(
            "ix_outbox_messages_pending_available_at",
            "available_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # Pruning of rows sent long ago.
        Index("ix_outbox_messages_sent_at", "sent_at", postgresql_where=text("status = 'sent'")),
    )

    actor_name: Mapped[str] = mapped_column(String(100))
    queue_name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB)
    available_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime | None]
    request_id: Mapped[str | None] = mapped_column(String(64))


class ProcessedMessage(TenantOwned, Base):
    """A message whose effects committed: `id` is the message id. Written by the actor
    wrapper in the same transaction as the actor's effects."""

    __tablename__ = "processed_messages"
    __table_args__ = (Index("ix_processed_messages_created_at", "created_at"),)

    actor_name: Mapped[str] = mapped_column(String(100))


class DeadLetter(TenantOwned, Base):
    """A message that failed for good: retries exhausted, an error never retried, or too old."""

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_created_at", "created_at"),)

    message_id: Mapped[uuid.UUID]
    actor_name: Mapped[str] = mapped_column(String(100))
    queue_name: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(String(32))
    retries: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class ScheduledRun(Base):
    """Platform-level: when each periodic sweep last fanned out (no tenant data)."""

    __tablename__ = "scheduled_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_run_at: Mapped[dt.datetime]
