"""`schedule_followup` without `after` counts working days on the tenant's business
calendar, as the follow-up itself does: the Spring Festival is no working time."""

from __future__ import annotations

import datetime as dt

from followup_support import act, insert_resolved_case, tasks_of
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle

CST = dt.timezone(dt.timedelta(hours=8))


async def test_the_default_start_skips_the_spring_festival(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    # Resolved on Friday 13 February 2026 at 17:30; the default calendar's holiday runs
    # from the 15th to the 23rd. Three working days later is Wednesday the 25th (Monday
    # to Friday would say Wednesday the 18th, inside the holiday).
    resolved_at = dt.datetime(2026, 2, 13, 17, 30, tzinfo=CST)
    case_id = await insert_resolved_case(app_engine, tenant.id, resolved_at=resolved_at)

    scheduled = await act(client, tenant.headers, case_id, "schedule_followup", {})

    after = dt.datetime.fromisoformat(scheduled["followup_after"])
    assert after == dt.datetime(2026, 2, 25, 17, 30, tzinfo=CST)
    (task,) = await tasks_of(app_engine, tenant.id, case_id)
    assert task.due_from == after  # one rule for the case and its follow-up


async def test_the_tenants_own_holiday_moves_the_default_start(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    calendars = (await client.get("/api/v1/calendars", headers=tenant.headers)).json()
    items = calendars["items"] if isinstance(calendars, dict) else calendars
    (calendar,) = items
    changed = await client.patch(
        f"/api/v1/calendars/{calendar['id']}",
        headers=tenant.headers,
        json={"extra_holidays": ["2026-03-10"]},
    )
    assert changed.status_code == 200, changed.text
    # Friday 6 March 17:30 + 3 working days: Wednesday the 11th, one later for the 10th.
    resolved_at = dt.datetime(2026, 3, 6, 17, 30, tzinfo=CST)
    case_id = await insert_resolved_case(app_engine, tenant.id, resolved_at=resolved_at)

    scheduled = await act(client, tenant.headers, case_id, "schedule_followup", {})

    after = dt.datetime.fromisoformat(scheduled["followup_after"])
    assert after == dt.datetime(2026, 3, 12, 17, 30, tzinfo=CST)
