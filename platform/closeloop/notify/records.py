"""Reading notification records: the operators' list (admins and supervisors) and each
user's own inbox. Newest first, paged by an opaque cursor (closeloop.paging)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.db import utcnow, where_equal
from closeloop.errors import NotFound, UnprocessableEntity
from closeloop.notify.events import CHANNELS, EVENTS
from closeloop.notify.models import Notification
from closeloop.paging import after, page

__all__ = [
    "STATUSES",
    "NotificationFilters",
    "inbox",
    "inbox_item",
    "list_notifications",
    "mark_all_read",
    "mark_read",
    "unread_count",
]

STATUSES = ("pending", "sent", "failed", "skipped")


@dataclasses.dataclass(frozen=True)
class NotificationFilters:
    status: str | None = None
    event: str | None = None
    channel: str | None = None
    case_id: uuid.UUID | None = None

    def check(self) -> None:
        for field, value, allowed in (
            ("status", self.status, STATUSES),
            ("event", self.event, EVENTS),
            ("channel", self.channel, CHANNELS),
        ):
            if value is not None and value not in allowed:
                raise UnprocessableEntity(
                    f"{field}: one of {', '.join(allowed)}, got {value!r}",
                    field=field,
                )


def _after(query: Select[Notification], cursor: str | None) -> Select[Notification]:
    return after(query, (Notification.created_at, Notification.id), cursor, descending=True)


def _newest_first(query: Select[Notification], limit: int) -> Select[Notification]:
    return query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)


def _page(rows: Sequence[Notification], limit: int) -> tuple[list[Notification], str | None]:
    return page(rows, limit, lambda row: (row.created_at, row.id))


async def list_notifications(
    session: AsyncSession, filters: NotificationFilters, *, limit: int, cursor: str | None
) -> tuple[list[Notification], str | None]:
    filters.check()
    query = where_equal(
        select(Notification),
        (Notification.status, filters.status),
        (Notification.event, filters.event),
        (Notification.channel, filters.channel),
        (Notification.case_id, filters.case_id),
    )
    rows = (await session.scalars(_newest_first(_after(query, cursor), limit))).all()
    return _page(rows, limit)


async def get_notification(session: AsyncSession, notification_id: uuid.UUID) -> Notification:
    row = await session.scalar(select(Notification).where(Notification.id == notification_id))
    if row is None:
        raise NotFound("no such notification")
    return row


def _inbox_of(user_id: uuid.UUID) -> Select[Notification]:
    """A user's delivered in-app notifications (deferred ones appear when released)."""
    return select(Notification).where(
        Notification.channel == "inbox",
        Notification.recipient_user_id == user_id,
        Notification.status == "sent",
    )


async def inbox(
    session: AsyncSession,
    user_id: uuid.UUID,
    *,
    unread_only: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[Notification], str | None]:
    query = _inbox_of(user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    rows = (await session.scalars(_newest_first(_after(query, cursor), limit))).all()
    return _page(rows, limit)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    query = _inbox_of(user_id).where(Notification.read_at.is_(None)).subquery()
    return int(await session.scalar(select(func.count()).select_from(query)) or 0)


async def inbox_item(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification:
    row = await session.scalar(_inbox_of(user_id).where(Notification.id == notification_id))
    if row is None:
        raise NotFound("no such notification in your inbox")
    return row


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification:
    row = await inbox_item(session, user_id, notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
        await session.flush()
    return row


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID) -> int:
    unread = _inbox_of(user_id).where(Notification.read_at.is_(None)).subquery()
    result = await session.execute(
        update(Notification)
        .where(Notification.id.in_(select(unread.c.id)))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
