"""What the report e-mail tests share: a sweep at a given moment, and the send times
computed here (not by the code under test)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.queue import runtime
from closeloop.reports.mailing import send_due_reports


async def sweep(engine: AsyncEngine, tenant_id: uuid.UUID, now: dt.datetime) -> list[str]:
    """Run the report sweep of one tenant as if it were `now`; the subjects of the
    e-mail notifications it made."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        made = await send_due_reports(session, settings=runtime.current().settings, now=now)
        return [notification.subject for notification in made]


def next_weekly(after: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first Monday 09:00 in `zone` later than `after`."""
    day = after.astimezone(zone).date()
    while True:
        if day.weekday() == 0:
            moment = dt.datetime(day.year, day.month, day.day, 9, tzinfo=zone)
            if moment > after:
                return moment
        day += dt.timedelta(days=1)


def next_monthly(after: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first 1st-of-the-month 09:00 in `zone` later than `after`."""
    day = after.astimezone(zone).date()
    while True:
        if day.day == 1:
            moment = dt.datetime(day.year, day.month, day.day, 9, tzinfo=zone)
            if moment > after:
                return moment
        day += dt.timedelta(days=1)
