"""Breach detection and the escalation ladder on the real database: each level fires once
per clock however often the sweep runs or a message is delivered, reaches the people
it names, raises the severity and reassigns where configured, shows in the case
timeline and audit trail, respects staff working hours below the top severity, and
keeps tenants apart. Time is controlled by the `now` given to the sweep."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import sla_support as sla
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.db import sessionmaker, transaction, utcnow
from closeloop.queue.registry import actor_spec
from closeloop.settings import Settings
from integration.cases.case_support import config_id, create_case
from integration.cases.lifecycle_support import make_department, make_user
from support import Client, TenantHandle

HOUR = dt.timedelta(hours=1)
SLA = ("sla_warning", "sla_breach", "escalation")

LADDER = {
    "code": "web-ladder",
    "name": "Web cases",
    "position": 1,
    "match_channel": "web",
    "targets": {
        "first_response": {"unit": "calendar", "hours": 1},
        "resolution": {"unit": "calendar", "hours": 10},
    },
    "levels": [
        {
            "target": "resolution",
            "trigger": "percent",
            "threshold": 50,
            "actions": ["notify_handler"],
        },
        {
            "target": "resolution",
            "trigger": "breach",
            "actions": ["notify_supervisors", "notify_manager", "flag"],
        },
        {
            "target": "resolution",
            "trigger": "after_breach",
            "threshold": 2,
            "actions": ["raise_severity", "reassign", "notify_role"],
            "role": "followup",
        },
    ],
}


async def _people(client: Client, app_engine: AsyncEngine, tenant: TenantHandle) -> dict[str, Any]:
    handler, _ = await make_user(client, tenant, "handler")
    supervisor, _ = await make_user(client, tenant, "supervisor")
    manager, _ = await make_user(client, tenant, "handler")
    followup, _ = await make_user(client, tenant, "followup")
    department = await make_department(app_engine, tenant.id, "after-sales")
    response = await client.patch(
        f"/api/v1/departments/{department}",
        headers=tenant.headers,
        json={"manager_id": str(manager)},
    )
    assert response.status_code == 200, response.text
    return {
        "handler": handler,
        "supervisor": supervisor,
        "manager": manager,
        "followup": followup,
        "department": department,
    }


async def _audited(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(select(AuditEntry).where(AuditEntry.action == "sla.escalate"))
        return len(rows.all())


def _sent(notes: list[Any], people: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(who, event) of the SLA alerts among `notes` (assignment notices left out)."""
    names = {v: k for k, v in people.items()}
    return Counter((names.get(n.recipient_user_id, "?"), n.event) for n in notes if n.event in SLA)


async def test_a_breach_fires_each_level_once_reaching_the_right_people(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings
) -> None:
    assert (
        await client.post("/api/v1/sla-policies/", headers=tenant.headers, json=LADDER)
    ).status_code == 201
    people = await _people(client, app_engine, tenant)
    t0 = sla.at_minute(utcnow())
    case = await create_case(client, tenant.headers, channel="web", received_at=t0.isoformat())
    case_id = case["id"]
    assign = {"lead_department_id": str(people["department"]), "handler_id": str(people["handler"])}
    await sla.act(app_engine, tenant, case_id, "verify", {"valid": True}, at=t0, settings=settings)
    await sla.act(app_engine, tenant, case_id, "assign", assign, at=t0, settings=settings)

    # 60 % of the 10 hours: the first level only, to the handler; then nothing more.
    for _ in range(3):
        await sla.sweep(app_engine, t0 + 6 * HOUR)
    assert _sent(await sla.notifications(app_engine, tenant.id), people) == {
        ("handler", "sla_warning"): 1
    }

    # Past the due time: the breach, the second level (supervisors, the department's
    # manager, a flag); swept again and again, and with the checks rewound as if an
    # update had been lost, nothing fires twice.
    for _ in range(3):
        await sla.sweep(app_engine, t0 + 11 * HOUR)
    await sla.rewind_checks(app_engine, tenant.id, case_id)
    await sla.sweep(app_engine, t0 + 11 * HOUR)
    assert _sent(await sla.notifications(app_engine, tenant.id), people) == {
        ("handler", "sla_warning"): 1,
        ("supervisor", "sla_breach"): 1,
        ("manager", "sla_breach"): 1,
    }
    flagged = await sla.read_case(app_engine, tenant.id, case_id)
    assert (flagged.escalation_level, flagged.severity_code) == (1, "normal")

    # Two hours overdue: severity one up, reassigned to the manager, the follow-up role told.
    for _ in range(2):
        await sla.sweep(app_engine, t0 + 13 * HOUR)
    await sla.rewind_checks(app_engine, tenant.id, case_id)
    await sla.sweep(app_engine, t0 + 20 * HOUR)
    escalated = await sla.read_case(app_engine, tenant.id, case_id)
    assert escalated.severity_code == "urgent"
    assert escalated.severity_rank == 2
    assert escalated.handler_id == people["manager"]
    assert people["manager"] in escalated.handler_history
    assert _sent(await sla.notifications(app_engine, tenant.id), people) == {
        ("handler", "sla_warning"): 1,
        ("supervisor", "sla_breach"): 1,
        ("manager", "sla_breach"): 1,
        ("followup", "escalation"): 1,
    }

    events = await sla.timeline(app_engine, tenant.id, case_id)
    assert [e.type for e in events if e.type in ("sla_breach", "escalation")] == [
        "escalation",
        "sla_breach",
        "escalation",
        "escalation",
    ]
    last = [e for e in events if e.type == "escalation"][-1]
    assert last.actor == "sla"
    assert last.data["changes"]["severity"] == ["normal", "urgent"]
    assert last.data["changes"]["handler_id"] == [str(people["handler"]), str(people["manager"])]
    assert await _audited(app_engine, tenant.id) == 3

    history = await sla.clock_events(app_engine, tenant.id, case_id)
    resolution = [e for e in history if e.target == "resolution"]
    assert [e.type for e in resolution if e.type in ("breach", "escalation")] == [
        "escalation",
        "breach",
        "escalation",
        "escalation",
    ]
    # The raised severity recomputed the due times (the web policy still matches).
    assert any(e.type == "recompute" for e in resolution)
    assert sla.clock(await sla.clocks(app_engine, tenant.id, case_id), "resolution").state == (
        "breached"
    )


async def test_a_redelivered_sweep_message_does_nothing_twice(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    supervisor, _ = await make_user(client, tenant, "supervisor")
    # 25 hours ago: the default policy's 24-hour reply is overdue now.
    received = sla.at_minute(utcnow() - 25 * HOUR)
    case = await create_case(client, tenant.headers, received_at=received.isoformat())
    spec = actor_spec("sweep_due_clocks")
    message_id = str(uuid.uuid4())
    factory = sessionmaker(app_engine)
    kwargs = {"tenant_id": str(tenant.id)}

    assert await spec.handle(message_id=message_id, kwargs=kwargs, sessionmaker=factory)
    once = await sla.notifications(app_engine, tenant.id)
    assert not await spec.handle(message_id=message_id, kwargs=kwargs, sessionmaker=factory)
    assert await spec.handle(message_id=str(uuid.uuid4()), kwargs=kwargs, sessionmaker=factory)

    notes = [n for n in await sla.notifications(app_engine, tenant.id) if n.event in SLA]
    assert [n.id for n in notes] == [n.id for n in once if n.event in SLA]
    # No handler yet: the handler's alerts go to the supervisors. 80 % warning, then breach.
    assert sorted((n.recipient_user_id, n.event) for n in notes) == sorted(
        [(supervisor, "sla_warning"), (supervisor, "sla_breach")]
    )
    events = await sla.timeline(app_engine, tenant.id, case["id"])
    assert [e.type for e in events].count("sla_breach") == 1
    assert (await sla.read_case(app_engine, tenant.id, case["id"])).escalation_level == 1


async def test_staff_alerts_wait_for_working_hours_unless_the_case_is_critical(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    supervisor, _ = await make_user(client, tenant, "supervisor")
    critical = await config_id(client, tenant, "severities", "critical")
    t0 = sla.at_minute(utcnow())
    normal = await create_case(client, tenant.headers, received_at=t0.isoformat())
    urgent = await create_case(
        client, tenant.headers, received_at=t0.isoformat(), severity_id=critical
    )
    # Sunday 2026-11-29 03:00 in Shanghai is no one's working time; both first responses
    # are overdue by then.
    sunday_night = sla.local(2026, 11, 29, 3, 0)
    await sla.sweep(app_engine, max(sunday_night, t0 + 25 * HOUR))
    notes = [n for n in await sla.notifications(app_engine, tenant.id) if n.event in SLA]
    by_case = {str(n.case_id): n for n in notes if n.event == "sla_breach"}
    assert by_case[urgent["id"]].not_before is None  # the top severity: at once
    waiting = by_case[normal["id"]].not_before
    if max(sunday_night, t0 + 25 * HOUR) == sunday_night:
        assert waiting == sla.local(2026, 11, 30, 9, 0)  # Monday's opening
    assert {n.recipient_user_id for n in notes} == {supervisor}


async def test_the_sweep_acts_on_due_clocks_only_each_in_its_own_tenant(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    t0 = sla.at_minute(utcnow())
    ours = await create_case(client, tenant.headers, received_at=t0.isoformat())
    theirs = await create_case(
        client, other_tenant.headers, received_at=(t0 - 30 * HOUR).isoformat()
    )
    for _ in range(3):
        await create_case(client, tenant.headers, received_at=t0.isoformat())

    report = await sla.sweep(app_engine, t0 + HOUR)
    assert (report.claimed, report.breached) == (1, 1)  # only the other tenant's overdue clock
    assert [e.type for e in await sla.timeline(app_engine, other_tenant.id, theirs["id"])].count(
        "sla_breach"
    ) == 1
    assert "sla_breach" not in [
        e.type for e in await sla.timeline(app_engine, tenant.id, ours["id"])
    ]

    # Tenant A cannot read B's case clocks, nor see B's policies.
    response = await client.get(f"/api/v1/cases/{theirs['id']}/sla", headers=tenant.headers)
    assert response.status_code == 404
    ids_a = {
        p["id"] for p in (await client.get("/api/v1/sla-policies/", headers=tenant.headers)).json()
    }
    ids_b = {
        p["id"]
        for p in (await client.get("/api/v1/sla-policies/", headers=other_tenant.headers)).json()
    }
    assert ids_a
    assert ids_b
    assert not ids_a & ids_b
