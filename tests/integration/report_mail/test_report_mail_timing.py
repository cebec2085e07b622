"""When report e-mails go out: Monday 09:00 in the tenant's time zone for last week, the
1st 09:00 for last month (computed here, in plain Python), never by UTC's clock; each
period once, however often or concurrently the sweep runs."""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo

from report_mail_support import next_monthly, next_weekly, sweep
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import utcnow
from support import Client, TenantHandle, make_tenant

MINUTE = dt.timedelta(minutes=1)


async def _schedule(client: Client, tenant: TenantHandle, frequency: str) -> None:
    response = await client.post(
        "/api/v1/report-schedules",
        headers=tenant.headers,
        json={"frequency": frequency, "recipients": [str(tenant.admin_id)]},
    )
    assert response.status_code == 201, response.text


def _nine_utc(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """09:00 UTC of the tenant-local day of `moment`: what a UTC clock would call it."""
    day = moment.astimezone(zone).date()
    return dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)


async def test_reports_go_out_at_nine_on_the_tenants_calendar_once_per_period(
    client: Client, app_engine: AsyncEngine
) -> None:
    zone = zoneinfo.ZoneInfo("America/New_York")
    tenant = await make_tenant(client, "gotham", timezone="America/New_York", locale="en")
    await _schedule(client, tenant, "weekly")
    await _schedule(client, tenant, "monthly")
    made_at = utcnow()

    monday = next_weekly(made_at, zone)
    first = next_monthly(made_at, zone)
    week = (monday.date() - dt.timedelta(days=7), monday.date() - dt.timedelta(days=1))
    month_end = first.date() - dt.timedelta(days=1)
    month = (month_end.replace(day=1), month_end)
    expected: dict[dt.datetime, list[str]] = {}
    expected.setdefault(monday, []).append(f"Weekly report {week[0]} to {week[1]}")
    expected.setdefault(first, []).append(f"Monthly report {month[0]} to {month[1]}")

    for moment in sorted(expected):
        # Other schedules may catch up in these sweeps (the weekly one before the 1st):
        # look at the reports due at `moment` only.
        kinds = tuple(subject.split()[0] for subject in expected[moment])

        async def sent_at(when: dt.datetime, kinds: tuple[str, ...] = kinds) -> list[str]:
            subjects = await sweep(app_engine, tenant.id, when)
            return sorted(
                s.split("] ", 1)[1] for s in subjects if s.split("] ", 1)[1].startswith(kinds)
            )

        # 09:00 UTC of that day is 04:00 or 05:00 in New York: not yet.
        assert await sent_at(_nine_utc(moment, zone)) == []
        assert await sent_at(moment - MINUTE) == []
        assert await sent_at(moment) == sorted(expected[moment])
        # A second tick, and a later one the same day, send nothing again.
        assert await sent_at(moment) == []
        assert await sent_at(moment + dt.timedelta(hours=5)) == []

    # A later Monday: two sweeps at once (two schedulers) send its week once.
    following = next_weekly(max(expected), zone)
    both = await asyncio.gather(
        sweep(app_engine, tenant.id, following), sweep(app_engine, tenant.id, following)
    )
    sent = [subject for subjects in both for subject in subjects if "Weekly" in subject]
    assert len(sent) == 1
    assert f"{following.date() - dt.timedelta(days=7)} to" in sent[0]


async def test_a_schedule_made_after_monday_nine_waits_for_the_next_monday(
    client: Client, app_engine: AsyncEngine
) -> None:
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    tenant = await make_tenant(client, "pudong", timezone="Asia/Shanghai", locale="zh-CN")
    await _schedule(client, tenant, "weekly")
    made_at = utcnow()
    # Last week's report was due before the schedule existed: it is not sent late.
    assert await sweep(app_engine, tenant.id, made_at + MINUTE) == []
    monday = next_weekly(made_at, zone)
    assert await sweep(app_engine, tenant.id, monday - MINUTE) == []
    # Monday 09:00 in Shanghai is 01:00 UTC.
    assert monday.astimezone(dt.UTC).hour == 1
    subjects = await sweep(app_engine, tenant.id, monday)
    assert len(subjects) == 1
    assert "周报" in subjects[0]
    assert (
        f"{monday.date() - dt.timedelta(days=7)} 至 {monday.date() - dt.timedelta(days=1)}"
        in (subjects[0])
    )
