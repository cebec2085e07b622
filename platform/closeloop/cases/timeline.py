"""A case's timeline: the `case_events` rows, written by every action, read in order.

Every event is shown to staff (any role of the tenant, viewers included). Events marked
`customer` are also what the customer may be shown (a progress note meant for them, the
explanation of an invalid case, the resolution); `?visibility=customer` lists only those.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import jsonable
from closeloop.cases.models import Case, CaseEvent
from closeloop.db import bound_tenant, new_id, utcnow
from closeloop.web.errors import NotFound

__all__ = ["EventRead", "TimelineService", "Visibility", "add_event", "event_read"]

Visibility = Literal["internal", "customer"]


class EventRead(msgspec.Struct):
    id: uuid.UUID
    case_id: uuid.UUID
    type: str
    actor: str
    visibility: str
    from_status: str | None
    to_status: str | None
    data: dict[str, Any]
    created_at: dt.datetime


def event_read(event: CaseEvent) -> EventRead:
    return EventRead(
        id=event.id,
        case_id=event.case_id,
        type=event.type,
        actor=event.actor,
        visibility=event.visibility,
        from_status=event.from_status,
        to_status=event.to_status,
        data=event.data,
        created_at=event.created_at,
    )


async def add_event(
    session: AsyncSession,
    case: Case,
    *,
    type: str,
    actor: str,
    from_status: str | None,
    to_status: str | None,
    data: dict[str, Any] | None = None,
    visibility: Visibility = "internal",
    at: dt.datetime | None = None,
) -> CaseEvent:
    """Append an event to `case`'s timeline in the caller's transaction."""
    event = rows.new(
        CaseEvent,
        tenant_id=case.tenant_id,
        id=new_id(),
        case_id=case.id,
        type=type,
        actor=actor,
        visibility=visibility,
        from_status=from_status,
        to_status=to_status,
        data=jsonable({k: v for k, v in (data or {}).items() if v is not None}),
        created_at=at or utcnow(),
    )
    await rows.insert(session, event)
    return event


class TimelineService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def events(
        self, case_id: uuid.UUID, *, visibility: Visibility | None = None
    ) -> Sequence[CaseEvent]:
        """The case's events, oldest first; 404 when the case is not the tenant's."""
        tenant_id = bound_tenant(self.session)
        assert tenant_id is not None, "TimelineService needs a tenant-bound session"
        if await self.session.get(Case, (tenant_id, case_id)) is None:
            raise NotFound("no such case")
        query = (
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(CaseEvent.created_at, CaseEvent.id)
        )
        if visibility is not None:
            query = query.where(CaseEvent.visibility == visibility)
        return (await self.session.scalars(query)).all()
