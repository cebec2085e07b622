"""The report sweep queues a job only for the tenants with a report e-mail due, found
through `next_run_at` across tenants (the claim function of migration 0021), not one
per active tenant every minute; `next_run_at` follows the tenant's calendar when a
schedule is saved, paused, resumed, changed and sent (the expected times computed here,
in plain Python)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from report_mail_support import next_monthly, next_weekly, sweep
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction, utcnow
from closeloop.queue.models import OutboxMessage
from closeloop.queue.schedule import Schedule
from closeloop.queue.scheduler import fan_out
from closeloop.reports.schedule_actors import LEASE_SECONDS, due_tenants
from support import OPERATOR, Client, TenantHandle, make_tenant

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def _sweep(name: str) -> Schedule:
    """The report sweep under a name of its own (a period of its own)."""
    return Schedule(
        name=name, every_seconds=3600, actor_name="send_scheduled_reports", targets=due_tenants
    )


async def _schedule(client: Client, tenant: TenantHandle, frequency: str = "weekly") -> Any:
    response = await client.post(
        "/api/v1/report-schedules",
        headers=tenant.headers,
        json={"frequency": frequency, "recipients": [str(tenant.admin_id)]},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _read(client: Client, tenant: TenantHandle, schedule_id: str) -> Any:
    response = await client.get(f"/api/v1/report-schedules/{schedule_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _patch(client: Client, tenant: TenantHandle, schedule_id: str, **body: Any) -> Any:
    response = await client.patch(
        f"/api/v1/report-schedules/{schedule_id}", headers=tenant.headers, json=body
    )
    assert response.status_code == 200, response.text
    return response.json()


def _at(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


async def _next_run_at(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dt.datetime | None]:
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        rows = await conn.execute(text("SELECT next_run_at FROM report_schedules"))
        return [row[0] for row in rows]


async def _due_now(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    """Make the tenant's schedules due (as after an outage), as the owner."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        await conn.execute(
            text("UPDATE report_schedules SET next_run_at = now() - interval '1 minute'")
        )


async def _jobs(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[str]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(select(OutboxMessage.actor_name))
        return [name for name in rows if name == "send_scheduled_reports"]


async def test_the_sweep_queues_a_job_only_where_a_report_is_due(
    client: Client,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
) -> None:
    quiet = await make_tenant(client, "quiet")  # no schedule at all
    asleep = await make_tenant(client, "asleep")  # due, but the tenant is suspended
    for handle in (tenant, other_tenant, asleep):
        await _schedule(client, handle)
    await _due_now(owner_engine, tenant.id)
    await _due_now(owner_engine, asleep.id)
    suspended = await client.post(f"/platform/v1/tenants/{asleep.slug}/suspend", headers=OPERATOR)
    assert suspended.status_code == 200, suspended.text

    before = utcnow()
    assert await fan_out(app_engine, _sweep("report-sweep-test")) == 1
    after = utcnow()
    assert await _jobs(app_engine, tenant.id) == ["send_scheduled_reports"]
    for handle in (other_tenant, quiet, asleep):
        assert await _jobs(app_engine, handle.id) == [], handle.slug
    # The claimed schedule is leased: the next sweep does not queue it again.
    (leased,) = await _next_run_at(owner_engine, tenant.id)
    assert leased is not None
    lease = dt.timedelta(seconds=LEASE_SECONDS)
    assert before + lease <= leased <= after + lease
    assert await fan_out(app_engine, _sweep("report-sweep-test-2")) == 0

    # The job (here its body, at the same moment) finds nothing to send yet (the schedule
    # was made after last Monday's report time) and sets the real next time.
    (made,) = (await client.get("/api/v1/report-schedules", headers=tenant.headers)).json()
    assert await sweep(app_engine, tenant.id, utcnow()) == []
    assert _at((await _read(client, tenant, made["id"]))["next_run_at"]) == next_weekly(
        _at(made["created_at"]), SHANGHAI
    )


async def test_next_run_at_follows_the_tenants_calendar(
    client: Client, app_engine: AsyncEngine
) -> None:
    tenant = await make_tenant(client, "gotham", timezone="America/New_York", locale="en")
    weekly = await _schedule(client, tenant, "weekly")
    monthly = await _schedule(client, tenant, "monthly")
    made = _at(weekly["created_at"])
    assert made is not None
    monday, first = next_weekly(made, NEW_YORK), next_monthly(made, NEW_YORK)
    assert _at(weekly["next_run_at"]) == monday
    assert _at(monthly["next_run_at"]) == first
    # 09:00 in New York, not in UTC.
    assert monday.astimezone(dt.UTC).hour in (13, 14)

    paused = await _patch(client, tenant, weekly["id"], active=False)
    assert paused["next_run_at"] is None
    resumed = await _patch(client, tenant, weekly["id"], active=True)
    assert _at(resumed["next_run_at"]) == monday
    changed = await _patch(client, tenant, weekly["id"], frequency="monthly")
    assert _at(changed["next_run_at"]) == first
    await _patch(client, tenant, weekly["id"], frequency="weekly")

    # Looked at early: nothing sent, the time stays; sent: the next period's time.
    assert await sweep(app_engine, tenant.id, monday - dt.timedelta(minutes=1)) == []
    assert _at((await _read(client, tenant, weekly["id"]))["next_run_at"]) == monday
    sent = await sweep(app_engine, tenant.id, monday)
    assert any("Weekly report" in subject for subject in sent)
    after_sending = await _read(client, tenant, weekly["id"])
    assert _at(after_sending["next_run_at"]) == next_weekly(monday, NEW_YORK)
    assert _at(after_sending["next_run_at"]) == monday + dt.timedelta(days=7)
