"""What the report e-mail tests share: a sweep at a given moment, the send times
computed here (not by the code under test), cases and summaries through the API, and
the parts of a message received."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from email.message import EmailMessage
from typing import Any

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.queue import runtime
from closeloop.reports.mailing import send_due_reports
from integration.notify import notify_support as ns
from support import Client, TenantHandle

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def new_case(
    client: Client, tenant: TenantHandle, channel: str, number: int, **fields: Any
) -> None:
    """A complaint registered through the API on `channel` (and `fields`)."""
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": channel,
            "title": f"快递延误 第{number}单",
            "description": "包裹超过一周未送达，客服电话无人接听。",
            "customer": {"nickname": f"顾客{number}"},
            **fields,
        },
    )
    assert response.status_code == 201, response.text


async def summary_of(client: Client, tenant: TenantHandle, week: tuple[dt.date, dt.date]) -> Any:
    """The API's summary of those days, by day."""
    response = await client.get(
        "/api/v1/reports/summary",
        headers=tenant.headers,
        params={"from": str(week[0]), "to": str(week[1]), "group_by": "day"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def counted(
    client: Client,
    engine: AsyncEngine,
    broker: dramatiq.Broker,
    tenant: TenantHandle,
    week: tuple[dt.date, dt.date],
    cases: int,
) -> None:
    """Relay the cases' fact refreshes to the worker until the API's summary of `week`
    counts `cases` cases received."""

    async def done() -> bool:
        await ns.relay(engine, broker)
        volume = (await summary_of(client, tenant, week))["metrics"]["volume"]["value"]
        return bool(volume == cases)

    await ns.eventually(done)


async def delivered(
    engine: AsyncEngine, broker: dramatiq.Broker, mail: ns.Mailbox, messages: int
) -> None:
    """Relay the e-mails to the worker until the SMTP server has `messages` of them."""

    async def done() -> bool:
        await ns.relay(engine, broker)
        return len(mail.messages) >= messages

    await ns.eventually(done, seconds=60)


def parts_of(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    """A message's parts by content type."""
    found: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        assert isinstance(part, EmailMessage)
        found.setdefault(part.get_content_type(), []).append(part)
    return found


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
