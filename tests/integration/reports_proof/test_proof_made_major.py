"""Cases made major by age: a case still unresolved a month after it came in is raised
to critical by the SLA sweep (the default ladder's `age` level); the report counts it
in the period of that escalation, and lists it when the figure is clicked. A case
resolved within the month is not made major."""

from __future__ import annotations

import datetime as dt
from typing import Any

from proof_support import admin_principal, apply, drained, local, sweep, worker
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.settings import Settings
from integration.cases.lifecycle_support import make_department, make_user
from support import Client, TenantHandle

RESOLUTION = {
    "root_cause": "Faulty batch",
    "responsible_party": "internal",
    "solution_type": "replacement",
    "result": "Kettle replaced",
}


async def _intake(client: Client, tenant: TenantHandle, at: dt.datetime) -> str:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "电水壶漏水",
            "description": "使用两周后底部漏水。",
            "received_at": at.isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _get(client: Client, tenant: TenantHandle, path: str, **params: str) -> Any:
    response = await client.get(path, headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_case_a_month_unresolved_is_made_major_in_the_month_of_the_escalation(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    settings: Settings,
    database: Provisioned,
) -> None:
    handler, _ = await make_user(client, tenant, "handler")
    department = await make_department(app_engine, tenant.id, "after_sales")
    admin = admin_principal(tenant)
    received = local(2026, 10, 13, 10, 0)
    assign = {"lead_department_id": str(department), "handler_id": str(handler)}
    async with worker(database.app_url, app_engine, settings):
        aged = await _intake(client, tenant, received)
        quick = await _intake(client, tenant, received)
        for case_id in (aged, quick):
            await apply(app_engine, settings, admin, case_id, "verify", {"valid": True},
                        received + dt.timedelta(minutes=30))  # fmt: skip
            await apply(app_engine, settings, admin, case_id, "assign", assign,
                        received + dt.timedelta(minutes=40))  # fmt: skip
        await apply(app_engine, settings, admin, quick, "start", {}, local(2026, 10, 14, 9, 0))
        await apply(app_engine, settings, admin, quick, "resolve", RESOLUTION,
                    local(2026, 10, 20, 10, 0))  # fmt: skip
        # 30 days after 13 October 10:00 is 12 November 10:00: the sweep half an hour
        # later raises the unresolved case to critical.
        await sweep(app_engine, local(2026, 11, 12, 10, 30))
        await drained(app_engine, tenant.id, "refresh_case_facts")

    case = await _get(client, tenant, f"/api/v1/cases/{aged}")
    assert case["severity"] == "critical"  # the SLA ladder did make it major
    november = await _get(client, tenant, "/api/v1/reports/summary", period="2026-11")
    october = await _get(client, tenant, "/api/v1/reports/summary", period="2026-10")
    assert october["metrics"]["made_major"]["value"] == 0
    assert november["metrics"]["made_major"]["value"] == 1
    listed = await _get(client, tenant, "/api/v1/reports/made_major/cases", period="2026-11")
    assert [item["id"] for item in listed["items"]] == [aged]
