"""The transactional outbox: jobs are rows written in the transaction of the change.

`enqueue()` adds a pending row to `outbox_messages` in the caller's transaction; a
statement-level trigger on the table (migration 0010) `pg_notify`s the relay in that
transaction. PostgreSQL delivers the notification only on commit (one per transaction
and channel, however many rows), and a rolled back change leaves neither row nor
notification, so it never sends anything. The relay
(`closeloop.queue.relay`) moves committed rows to the broker.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import jsonable
from closeloop.db import TenantNotBound, bound_tenant, new_id, utcnow
from closeloop.queue.models import OutboxMessage, OutboxStatus
from closeloop.queue.registry import actor_spec

__all__ = ["NOTIFY_CHANNEL", "enqueue"]

NOTIFY_CHANNEL = "closeloop_outbox"
_RESERVED = ("tenant_id", "message_id")


async def enqueue(
    session: AsyncSession,
    actor_name: str,
    *,
    tenant_id: uuid.UUID,
    delay_ms: int | None = None,
    **kwargs: Any,
) -> OutboxMessage:
    """Ask for `actor_name(tenant_id=..., message_id=..., **kwargs)` once this transaction
    commits (and not before `delay_ms` has passed). `kwargs` must be JSON-able; UUIDs and
    datetimes arrive as strings. The session must be bound to `tenant_id`.

    Raises `UnknownActor` for a name no actor module declares.
    """
    spec = actor_spec(actor_name)
    if bound_tenant(session) != tenant_id:
        raise TenantNotBound(f"enqueue for tenant {tenant_id} in a session not bound to it")
    for name in _RESERVED:
        if name in kwargs:
            raise TypeError(f"{name} is given by the queue, not as a job argument")
    if delay_ms is not None and delay_ms < 0:
        raise ValueError("delay_ms must not be negative")
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    message = rows.new(
        OutboxMessage,
        tenant_id=tenant_id,
        id=new_id(),
        actor_name=actor_name,
        queue_name=spec.queue_name,
        args=jsonable(kwargs),
        available_at=utcnow() + dt.timedelta(milliseconds=delay_ms or 0),
        status=OutboxStatus.PENDING.value,
        attempts=0,
        request_id=str(request_id)[:64] if request_id else None,
    )
    await rows.insert(session, message)
    return message
