"""SLA clocks on the real database: started at intake from the tenant's calendar, paused
while waiting on the customer (due time moved by exactly the paused business time, the
reason kept), stopped and restarted by the lifecycle, a new cycle on reopen with the old
kept, recomputed when the severity changes, and the whole history readable per case."""

from __future__ import annotations

import datetime as dt

import sla_support as sla
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.settings import Settings
from closeloop.sla.calendar_service import load
from integration.cases.case_support import config_id, create_case
from integration.cases.lifecycle_support import make_department, make_user
from support import Client, TenantHandle

HOUR = dt.timedelta(hours=1)


async def _calendar(engine: AsyncEngine, tenant: TenantHandle):  # type: ignore[no-untyped-def]
    async with transaction(sessionmaker(engine), tenant.id) as session:
        return await load(session)


async def test_waiting_on_the_customer_moves_the_resolution_due_time_by_the_paused_business_time(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings
) -> None:
    # Monday 2026-11-16 10:00 in Shanghai; the default calendar works Mon-Fri
    # 09:00-12:00 and 13:30-18:00; the default policy resolves within 10 working days.
    case = await create_case(client, tenant.headers, received_at="2026-11-16T10:00:00")
    received = sla.local(2026, 11, 16, 10, 0)
    before = sla.clock(await sla.clocks(app_engine, tenant.id, case["id"]), "resolution")
    assert before.due_at == sla.local(2026, 11, 30, 10, 0)

    asked, answered = sla.local(2026, 11, 17, 11, 0), sla.local(2026, 11, 18, 15, 0)
    await sla.act(
        app_engine,
        tenant,
        case["id"],
        "verify",
        {"valid": True},
        at=received + HOUR,
        settings=settings,
    )
    await sla.act(
        app_engine,
        tenant,
        case["id"],
        "request_info",
        {"question": "Which order number?", "reason": "order number missing"},
        at=asked,
        settings=settings,
    )
    paused = sla.clock(await sla.clocks(app_engine, tenant.id, case["id"]), "resolution")
    assert (paused.state, paused.next_check_at) == ("paused", None)
    contact = sla.clock(await sla.clocks(app_engine, tenant.id, case["id"]), "customer_contact")
    assert contact.due_at == sla.local(2026, 11, 18, 11, 0)  # within 1 working day

    await sla.act(app_engine, tenant, case["id"], "resume", {}, at=answered, settings=settings)
    rows = await sla.clocks(app_engine, tenant.id, case["id"])
    resumed = sla.clock(rows, "resolution")
    # Tue 11:00-12:00, 13:30-18:00, Wed 09:00-12:00, 13:30-15:00: 10 working hours.
    calendar = await _calendar(app_engine, tenant)
    paused_for = calendar.business_time_between(asked, answered)
    assert paused_for == dt.timedelta(hours=10)
    assert resumed.state == "running"
    assert resumed.paused_seconds == 10 * 3600
    assert calendar.business_time_between(before.due_at, resumed.due_at) == paused_for
    assert resumed.due_at == sla.local(2026, 12, 1, 14, 0)
    assert sla.clock(rows, "customer_contact").state == "stopped"

    history = (await sla.case_sla(client, tenant.headers, case["id"]))["events"]
    pause = next(e for e in history if e["type"] == "pause" and e["target"] == "resolution")
    assert pause["reason"] == "order number missing"
    assert dt.datetime.fromisoformat(pause["at"]) == asked
    resume = next(e for e in history if e["type"] == "resume" and e["target"] == "resolution")
    assert resume["data"]["paused_seconds"] == 10 * 3600
    assert [e["type"] for e in history if e["target"] == "first_response"] == ["start", "stop"]


async def test_a_friday_evening_case_is_due_by_the_working_hours_that_follow(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/sla-policies/",
        headers=tenant.headers,
        json={
            "code": "web",
            "name": "Web form",
            "position": 1,
            "match_channel": "web",
            "targets": {
                "first_response": {"unit": "business", "hours": 4},
                "resolution": {"unit": "working_days", "days": 1},
            },
        },
    )
    assert response.status_code == 201, response.text
    # Friday 2026-11-20 19:30, after hours: the weekend does not count.
    case = await create_case(
        client, tenant.headers, channel="web", received_at="2026-11-20T19:30:00"
    )
    rows = await sla.clocks(app_engine, tenant.id, case["id"])
    # Monday 09:00-12:00 and 13:30-14:30 are the four working hours.
    assert sla.clock(rows, "first_response").due_at == sla.local(2026, 11, 23, 14, 30)
    # One working day: from Monday's opening to Tuesday's.
    assert sla.clock(rows, "resolution").due_at == sla.local(2026, 11, 24, 9, 0)
    assert dt.datetime.fromisoformat(case["due"]) == sla.local(2026, 11, 23, 14, 30)

    # The default policy promises a reply within 24 hours, round the clock.
    phoned = await create_case(client, tenant.headers, received_at="2026-11-20T19:30:00")
    assert dt.datetime.fromisoformat(phoned["due"]) == sla.local(2026, 11, 21, 19, 30)


async def test_the_lifecycle_starts_and_stops_the_right_clocks_and_a_reopen_starts_a_new_cycle(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings
) -> None:
    handler_id, _ = await make_user(client, tenant, "handler")
    department_id = await make_department(app_engine, tenant.id, "logistics")
    t0 = sla.local(2026, 11, 16, 10, 0)
    case = await create_case(client, tenant.headers, received_at="2026-11-16T10:00:00")
    case_id = case["id"]

    await sla.act(
        app_engine, tenant, case_id, "verify", {"valid": True}, at=t0 + HOUR, settings=settings
    )
    assign = {"lead_department_id": str(department_id), "handler_id": str(handler_id)}
    await sla.act(
        app_engine, tenant, case_id, "assign", assign, at=t0 + 2 * HOUR, settings=settings
    )
    await sla.act(app_engine, tenant, case_id, "start", {}, at=t0 + 3 * HOUR, settings=settings)
    rows = await sla.clocks(app_engine, tenant.id, case_id)
    update = sla.clock(rows, "customer_update")
    # 6 working hours from 13:00, in the lunch break: 13:30-18:00, then Tuesday 09:00-10:30.
    assert update.due_at == sla.local(2026, 11, 17, 10, 30)
    await sla.act(
        app_engine,
        tenant,
        case_id,
        "progress",
        {"note": "Carrier called", "visibility": "customer"},
        at=t0 + 5 * HOUR,
        settings=settings,
    )
    restarted = sla.clock(await sla.clocks(app_engine, tenant.id, case_id), "customer_update")
    assert (restarted.period, restarted.started_at) == (2, t0 + 5 * HOUR)
    resolve = {
        "root_cause": "Carrier delay",
        "responsible_party": "third_party",
        "third_party": "SF Express",
        "solution_type": "coupon",
        "result": "Coupon sent",
    }
    await sla.act(
        app_engine, tenant, case_id, "resolve", resolve, at=t0 + 6 * HOUR, settings=settings
    )
    rows = await sla.clocks(app_engine, tenant.id, case_id)
    assert {c.target: c.state for c in rows} == {
        "first_response": "stopped",
        "resolution": "stopped",
        "customer_update": "stopped",
        "first_feedback": "running",
        "followup": "running",
    }
    followup = sla.clock(rows, "followup")
    # 3 to 5 working days after the resolution (Monday 16:00).
    assert followup.opens_at == sla.local(2026, 11, 19, 16, 0)
    assert followup.due_at == sla.local(2026, 11, 23, 16, 0)

    unhappy = t0 + 30 * HOUR
    await sla.act(
        app_engine,
        tenant,
        case_id,
        "feedback",
        {"satisfaction": "unsatisfied", "reason": "Coupon too small"},
        at=unhappy,
        settings=settings,
    )
    rows = await sla.clocks(app_engine, tenant.id, case_id)
    first = [c for c in rows if c.cycle == 1]
    second = {c.target: c for c in rows if c.cycle == 2}
    assert {c.target for c in first} == {
        "first_response", "resolution", "customer_update", "first_feedback", "followup",
    }  # fmt: skip
    assert all(c.state == "stopped" for c in first)
    old_response = sla.clock(first, "first_response")
    assert (old_response.stopped_at, old_response.breached_at) == (t0 + HOUR, None)
    assert sla.clock(first, "resolution").stopped_at == t0 + 6 * HOUR
    assert set(second) == {"second_handling", "resolution"}
    # Unsatisfied: one severity up (urgent), whose policy resolves within 5 working days.
    assert second["second_handling"].due_at == unhappy + 24 * HOUR
    assert second["resolution"].spec == {"unit": "working_days", "days": 5}
    reopened = await sla.read_case(app_engine, tenant.id, case_id)
    assert reopened.severity_code == "urgent"
    assert reopened.due_at == unhappy + 24 * HOUR

    await sla.act(
        app_engine, tenant, case_id, "assign", assign, at=unhappy + HOUR, settings=settings
    )
    rows = await sla.clocks(app_engine, tenant.id, case_id)
    assert sla.clock(rows, "second_handling", 2).state == "stopped"  # the second handling began
    body = await sla.case_sla(client, tenant.headers, case_id)
    assert body["cycle"] == 2
    assert [c["cycle"] for c in body["clocks"]].count(1) == 5
    assert any(e["type"] == "cycle" and e["cycle"] == 2 for e in body["events"])


async def test_archiving_stops_every_clock_and_clears_the_due_time(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings
) -> None:
    t0 = sla.local(2026, 11, 16, 10, 0)
    case = await create_case(client, tenant.headers, received_at="2026-11-16T10:00:00")
    await sla.act(
        app_engine,
        tenant,
        case["id"],
        "invalidate",
        {"explanation": "Spam"},
        at=t0 + HOUR,
        settings=settings,
    )
    rows = await sla.clocks(app_engine, tenant.id, case["id"])
    assert {c.state for c in rows} == {"stopped"}
    assert all(c.next_check_at is None for c in rows)
    assert (await sla.read_case(app_engine, tenant.id, case["id"])).due_at is None


async def test_a_severity_change_recomputes_the_due_times(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers, received_at="2026-11-16T10:00:00")
    critical = await config_id(client, tenant, "severities", "critical")
    response = await client.patch(
        f"/api/v1/cases/{case['id']}",
        headers={**tenant.headers, "If-Match": str(case["version"])},
        json={"severity_id": critical},
    )
    assert response.status_code == 200, response.text
    rows = await sla.clocks(app_engine, tenant.id, case["id"])
    # The critical policy: a reply within 1 hour, resolved within 2 working days.
    assert sla.clock(rows, "first_response").due_at == sla.local(2026, 11, 16, 11, 0)
    assert sla.clock(rows, "resolution").due_at == sla.local(2026, 11, 18, 10, 0)
    assert dt.datetime.fromisoformat(response.json()["due"]) == sla.local(2026, 11, 16, 11, 0)
    recomputed = [
        e
        for e in await sla.clock_events(app_engine, tenant.id, case["id"])
        if e.type == "recompute"
    ]
    assert {e.target for e in recomputed} == {"first_response", "resolution"}
    assert all(e.data["policy"] == "critical" for e in recomputed)
