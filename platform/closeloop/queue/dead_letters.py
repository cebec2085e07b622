"""Reading dead letters across tenants, for operators (API and command line).

Runs as the application role through `closeloop_dead_letters()`, a SECURITY DEFINER
function (see the migration and `closeloop.queue.relay`): the table stays under forced
RLS, and no tenant's own API can list another tenant's dead letters.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["DeadLetterRead", "list_dead_letters"]

_LIST = text("SELECT * FROM closeloop_dead_letters(:max_rows, :older_than)")
MAX_LIMIT = 500


class DeadLetterRead(msgspec.Struct):
    id: uuid.UUID
    tenant_id: uuid.UUID
    tenant: str
    created_at: dt.datetime
    message_id: uuid.UUID
    actor_name: str
    queue_name: str
    args: dict[str, Any]
    reason: str
    retries: int
    error: str


async def list_dead_letters(
    session: AsyncSession, *, limit: int = 100, before: dt.datetime | None = None
) -> list[DeadLetterRead]:
    """Newest first; `before` pages on to older records."""
    rows = (
        await session.execute(
            _LIST, {"max_rows": max(1, min(limit, MAX_LIMIT)), "older_than": before}
        )
    ).all()
    return [
        DeadLetterRead(
            id=row.id,
            tenant_id=row.tenant_id,
            tenant=row.tenant_slug,
            created_at=row.created_at,
            message_id=row.message_id,
            actor_name=row.actor_name,
            queue_name=row.queue_name,
            args=json.loads(row.args) if isinstance(row.args, str) else dict(row.args),
            reason=row.reason,
            retries=row.retries,
            error=row.error,
        )
        for row in rows
    ]
