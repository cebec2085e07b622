"""A case's timeline: the `case_events` rows, written by every action, read in order.

Every event is shown to staff (any role of the tenant, viewers included). Events marked
`customer` are also what the customer may be shown (a progress note meant for them, the
explanation of an invalid case, the resolution); `?visibility=customer` lists only those.

It pages like every other list: `{items, next_cursor}`, oldest first, `limit` events a
page; the cursor is the last event's `(created_at, id)` and the next page continues
strictly after it, so an event written meanwhile is never skipped or shown twice.

`on_case_change` is the timeline's subscriber of a lifecycle action (`CaseChange`):
the action's event, under the id the change names. A `merge` also writes a
`merged_in` event on the case merged into, so both timelines show it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import jsonable
from closeloop.cases.lifecycle import Action, CaseChange
from closeloop.cases.models import Case, CaseEvent
from closeloop.crud import read_as
from closeloop.db import new_id, required_tenant, utcnow
from closeloop.errors import NotFound
from closeloop.identity.principal import Principal
from closeloop.paging import after, page
from closeloop.settings import Settings

__all__ = [
    "MAX_TIMELINE_LIMIT",
    "EventRead",
    "TimelinePage",
    "TimelineService",
    "Visibility",
    "add_event",
    "event_read",
    "on_case_change",
]

MAX_TIMELINE_LIMIT = 500

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


class TimelinePage(msgspec.Struct):
    """A page of a case's events, oldest first; pass `next_cursor` as `cursor` for more."""

    items: list[EventRead]
    next_cursor: str | None


def event_read(event: CaseEvent) -> EventRead:
    return read_as(EventRead, event)


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
    id: uuid.UUID | None = None,
) -> CaseEvent:
    """Append an event to `case`'s timeline in the caller's transaction."""
    event = rows.new(
        CaseEvent,
        tenant_id=case.tenant_id,
        id=id or new_id(),
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


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    """The action's event on the case's timeline (and, for a merge, on the other case's)."""
    case = change.case
    await add_event(
        session,
        case,
        type=change.action.value,
        actor=change.actor,
        from_status=change.from_status,
        to_status=change.to_status,
        data=change.data,
        visibility=change.visibility,
        at=change.at,
        id=change.event_id,
    )
    if change.action == Action.MERGE and case.merged_into_id is not None:
        target = await session.get(Case, (case.tenant_id, case.merged_into_id))
        assert target is not None, "the merge locked the case it merged into"
        await add_event(
            session,
            target,
            type="merged_in",
            actor=change.actor,
            from_status=None,
            to_status=None,
            data={"case_id": case.id, "number": case.number, "note": change.data.get("note")},
            at=change.at,
        )


class TimelineService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        principal: Principal | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings

    async def events(
        self,
        case_id: uuid.UUID,
        *,
        visibility: Visibility | None = None,
        limit: int = MAX_TIMELINE_LIMIT,
        cursor: str | None = None,
    ) -> tuple[list[CaseEvent], str | None]:
        """A page of the case's events, oldest first, and the cursor of the next page
        (None at the end); 404 when the case is not the tenant's."""
        tenant_id = required_tenant(self.session, "TimelineService")
        limit = max(1, min(limit, MAX_TIMELINE_LIMIT))
        query = select(CaseEvent).where(CaseEvent.case_id == case_id)
        query = after(query, (CaseEvent.created_at, CaseEvent.id), cursor, descending=False)
        if await self.session.get(Case, (tenant_id, case_id)) is None:
            raise NotFound("no such case")
        if visibility is not None:
            query = query.where(CaseEvent.visibility == visibility)
        query = query.order_by(CaseEvent.created_at, CaseEvent.id).limit(limit + 1)
        found = (await self.session.scalars(query)).all()
        return page(found, limit, lambda event: (event.created_at, event.id))
