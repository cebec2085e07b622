"""What the report e-mail tests share: a tenant in a chosen time zone, a sweep at a given
moment, the send times computed here (not by the code under test)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.queue import runtime
from closeloop.reports.mailing import send_due_reports
from support import OPERATOR, Client, TenantHandle, login


async def tenant_in(client: Client, slug: str, timezone: str, locale: str) -> TenantHandle:
    email = f"admin@{slug}.example.com"
    response = await client.post(
        "/platform/v1/tenants/",
        headers=OPERATOR,
        json={
            "slug": slug,
            "name": f"{slug} 公司",
            "admin_email": email,
            "admin_password": "correct horse battery",
            "timezone": timezone,
            "locale": locale,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return TenantHandle(
        id=uuid.UUID(body["id"]),
        slug=slug,
        admin_email=email,
        admin_id=uuid.UUID(body["admin_user_id"]),
        token=await login(client, slug, email),
    )


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
