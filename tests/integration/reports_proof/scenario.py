"""The hand-built month: nine cases of a tenant, taken through intake, the lifecycle, the
SLA sweep and follow-ups at chosen times in October and November 2026 (Asia/Shanghai),
with the worker keeping the report facts from the outbox.

* A: received on a Friday afternoon, answered after the weekend, resolved after the
  holiday (Wednesday 11 November), satisfied, followed up and closed;
* B: waits on the customer two days (paused), resolved, answered, follow-up never done;
* C: resolved, answered unsatisfied: reopened (and escalated), resolved again;
* D: urgent: first response and resolution both breached, escalated by the sweep;
* E: resolved at the first contact (FCR), followed up, partially resolved;
* F: an inquiry closed as invalid;
* G: received in October, never resolved: made major by age in November;
* H: a duplicate merged into B (counts once);
* I: the same customer and category as A within 30 days: a repeat, left open (its
  first response clock runs past due);
* J: a service request resolved, followed up unresolved: reopened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from proof_support import (
    Made,
    Step,
    admin_principal,
    apply,
    handler_principal,
    local,
    read_back,
    sweep,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.settings import Settings
from integration.cases.case_support import config_id
from integration.cases.lifecycle_support import make_department, make_user
from support import Client, TenantHandle

ORDERS = 20_000  # the tenant's recorded orders of November
AGE_SWEEP = local(2026, 11, 12, 10, 30)  # the sweep that finds G a month old


@dataclasses.dataclass
class World:
    tenant: TenantHandle
    cases: dict[str, Made]
    handlers: dict[str, uuid.UUID]
    departments: dict[str, uuid.UUID]

    def all(self) -> list[Made]:
        return list(self.cases.values())


RESOLUTION = {
    "root_cause": "Courier delay at the hub",
    "solution_type": "coupon",
    "result": "Coupon of 20 yuan sent",
}


def _resolve(party: str, third: str | None = None) -> dict[str, Any]:
    body = {**RESOLUTION, "responsible_party": party}
    if third:
        body["third_party"] = third
    return body


async def build(
    client: Client, app_engine: AsyncEngine, owner_engine: AsyncEngine, tenant: TenantHandle,
    settings: Settings,
) -> World:  # fmt: skip
    calendars = await client.get("/api/v1/calendars/", headers=tenant.headers)
    assert calendars.status_code == 200, calendars.text
    (default,) = [c for c in calendars.json() if c["is_default"]]
    patched = await client.patch(
        f"/api/v1/calendars/{default['id']}",
        headers=tenant.headers,
        json={"extra_holidays": ["2026-11-11"]},
    )
    assert patched.status_code == 200, patched.text

    h1, _ = await make_user(client, tenant, "handler")
    h2, _ = await make_user(client, tenant, "handler")
    departments = {
        code: await make_department(app_engine, tenant.id, code)
        for code in ("logistics", "after_sales", "customer_service", "technical")
    }
    categories = {
        code: await config_id(client, tenant, "categories", code)
        for code in (
            "logistics_delay",
            "product_quality",
            "service_attitude",
            "billing_dispute",
            "system_failure",
            "other",
        )
    }
    urgent = await config_id(client, tenant, "severities", "urgent")

    cases: dict[str, Made] = {}

    async def take_in(
        name: str, at: dt.datetime, *, kind: str = "complaint", channel: str, category: str,
        product: str | None, phone: str, severity: str | None = None,
    ) -> None:  # fmt: skip
        body: dict[str, Any] = {
            "kind": kind,
            "channel": channel,
            "title": f"案例 {name}",
            "description": "订单承诺三天送达,实际一周后才到。",
            "received_at": at.isoformat(),
            "category_id": categories[category],
            "customer": {"nickname": f"客户{name}", "name": f"客户{name}", "phone": phone},
        }
        if product:
            body["product"] = {"name": product}
        if severity:
            body["severity_id"] = severity
        response = await client.post("/api/v1/cases", headers=tenant.headers, json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        cases[name] = Made(
            name=name,
            id=created["id"],
            number=created["number"],
            kind=kind,
            channel=channel,
            category=category,
            product=product,
            received_at=at,
        )

    admin = admin_principal(tenant)

    def by(who: uuid.UUID | None) -> Any:
        return admin if who is None else handler_principal(tenant, who)

    async def do(name: str, action: str, at: dt.datetime, body: dict[str, Any] | None = None,
                 who: uuid.UUID | None = None) -> None:  # fmt: skip
        made = cases[name]
        await apply(app_engine, settings, by(who), made.id, action, body or {}, at)
        made.steps.append(Step(action, at, who or tenant.admin_id, body or {}))

    def assign(handler: uuid.UUID, department: str) -> dict[str, Any]:
        return {"lead_department_id": str(departments[department]), "handler_id": str(handler)}

    visible = {"note": "We called the courier; the parcel is on its way.", "visibility": "customer"}
    note = {"note": "Checked the order."}

    # October: G, never resolved.
    await take_in("G", local(2026, 10, 13, 10, 0), channel="phone", category="product_quality",
                  product="电水壶", phone="13800000007")  # fmt: skip
    await do("G", "verify", local(2026, 10, 13, 10, 30), {"valid": True})
    await do("G", "assign", local(2026, 10, 13, 10, 40), assign(h2, "after_sales"))
    await do("G", "start", local(2026, 10, 13, 10, 50), who=h2)
    await do("G", "progress", local(2026, 10, 13, 11, 0), visible, who=h2)

    # D: urgent, Monday 2 November.
    await take_in("D", local(2026, 11, 2, 10, 0), channel="chat", category="billing_dispute",
                  product="会员服务", phone="13800000004", severity=urgent)  # fmt: skip
    # Verified after five hours: the 4-hour first response clock is breached.
    await do("D", "verify", local(2026, 11, 2, 15, 0), {"valid": True})
    await do("D", "assign", local(2026, 11, 2, 15, 5), assign(h2, "customer_service"))
    await do("D", "start", local(2026, 11, 2, 15, 10), who=h2)
    await do("D", "progress", local(2026, 11, 2, 15, 30), note, who=h2)  # internal: no response
    await do("D", "progress", local(2026, 11, 2, 16, 0), visible, who=h2)

    # A: Friday 6 November, 16:00.
    await take_in("A", local(2026, 11, 6, 16, 0), channel="phone", category="logistics_delay",
                  product="快递服务", phone="13800000001")  # fmt: skip
    await do("A", "verify", local(2026, 11, 6, 16, 30), {"valid": True})
    await do("A", "annotate", local(2026, 11, 6, 16, 40), {"note": "Customer sounded upset."})
    await do("A", "assign", local(2026, 11, 6, 17, 0), assign(h1, "logistics"))
    await do("A", "start", local(2026, 11, 9, 9, 30), who=h1)
    await do("A", "progress", local(2026, 11, 10, 10, 0), visible, who=h1)

    await sweep(app_engine, AGE_SWEEP)  # G is a month old: made major
    cases["G"].made_major_at = AGE_SWEEP

    await do("A", "resolve", local(2026, 11, 12, 11, 0), _resolve("third_party", "SF Express"), h1)
    await do("A", "feedback", local(2026, 11, 13, 10, 0), {"satisfaction": "satisfied"})

    # B: Monday 16 November, waits on the customer until Wednesday 15:00.
    await take_in("B", local(2026, 11, 16, 10, 0), channel="web", category="service_attitude",
                  product="快递服务", phone="13800000002")  # fmt: skip
    await do("B", "verify", local(2026, 11, 16, 10, 30), {"valid": True})
    await do("B", "request_info", local(2026, 11, 16, 11, 0),
             {"question": "Which order number?", "reason": "order number missing"})  # fmt: skip

    # C: Tuesday 17 November.
    await take_in("C", local(2026, 11, 17, 9, 0), channel="email", category="logistics_delay",
                  product="电水壶", phone="13800000003")  # fmt: skip
    await do("C", "verify", local(2026, 11, 17, 9, 10), {"valid": True})
    await do("C", "assign", local(2026, 11, 17, 9, 20), assign(h1, "logistics"))
    await do("C", "start", local(2026, 11, 17, 9, 30), who=h1)
    await do("C", "resolve", local(2026, 11, 17, 14, 0), _resolve("customer"), h1)

    await do("A", "followup", local(2026, 11, 18, 10, 0), {"outcome": "resolved_satisfied"})
    await do("C", "feedback", local(2026, 11, 18, 10, 0),
             {"satisfaction": "unsatisfied", "reason": "Still no parcel"})  # fmt: skip
    await do("B", "resume", local(2026, 11, 18, 15, 0))
    await do("B", "assign", local(2026, 11, 18, 15, 10), assign(h2, "logistics"))
    await do("B", "start", local(2026, 11, 18, 15, 20), who=h2)

    await do("C", "assign", local(2026, 11, 19, 9, 0), assign(h1, "logistics"))
    await do("C", "start", local(2026, 11, 19, 9, 10), who=h1)
    await do("B", "resolve", local(2026, 11, 19, 10, 0), _resolve("internal"), h2)

    # J: a service request, Thursday 19 November.
    await take_in("J", local(2026, 11, 19, 14, 0), kind="service_request", channel="app",
                  category="system_failure", product=None, phone="13800000010")  # fmt: skip
    await do("J", "verify", local(2026, 11, 19, 14, 10), {"valid": True})
    await do("J", "assign", local(2026, 11, 19, 14, 20), assign(h1, "technical"))
    await do("J", "start", local(2026, 11, 19, 14, 30), who=h1)
    await do("J", "resolve", local(2026, 11, 19, 15, 0), _resolve("third_party", "阿里云"), h1)
    await do("C", "resolve", local(2026, 11, 19, 16, 0), _resolve("customer"), h1)

    # H: a duplicate of B, merged.
    await take_in("H", local(2026, 11, 20, 9, 0), channel="phone", category="service_attitude",
                  product="快递服务", phone="13800000002")  # fmt: skip
    await do("H", "verify", local(2026, 11, 20, 9, 10), {"valid": True})
    await do("H", "merge", local(2026, 11, 20, 9, 20), {"into": cases["B"].id})
    await do("B", "feedback", local(2026, 11, 20, 10, 0), {"satisfaction": "basically_satisfied"})
    await do("J", "schedule_followup", local(2026, 11, 20, 11, 0))

    # E: Monday 23 November, resolved at the first contact.
    await take_in("E", local(2026, 11, 23, 10, 0), channel="phone", category="product_quality",
                  product="电水壶", phone="13800000005")  # fmt: skip
    await do("E", "verify", local(2026, 11, 23, 10, 10), {"valid": True})
    await do("E", "assign", local(2026, 11, 23, 10, 20), assign(h1, "after_sales"))
    await do("E", "start", local(2026, 11, 23, 10, 30), who=h1)
    await do("E", "progress", local(2026, 11, 23, 10, 40), note, who=h1)
    await do("E", "resolve", local(2026, 11, 23, 11, 0), _resolve("internal"), h1)
    await do("E", "schedule_followup", local(2026, 11, 24, 9, 0))

    # F: an inquiry that is not ours.
    await take_in("F", local(2026, 11, 24, 9, 30), kind="inquiry", channel="social",
                  category="other", product=None, phone="13800000006")  # fmt: skip
    await do("F", "invalidate", local(2026, 11, 24, 10, 0), {"explanation": "Not our product."})

    await do("J", "followup", local(2026, 11, 25, 10, 0),
             {"outcome": "unresolved", "note": "Still fails"})  # fmt: skip
    await do("D", "resolve", local(2026, 11, 25, 10, 0), _resolve("internal"), h2)
    await do("E", "followup", local(2026, 11, 27, 10, 0), {"outcome": "partially_resolved"})

    # I: A's customer again, same category: a repeat, left open.
    await take_in("I", local(2026, 11, 27, 15, 0), channel="phone", category="logistics_delay",
                  product="快递服务", phone="13800000001")  # fmt: skip

    await read_back(app_engine, tenant.id, cases.values())
    return World(tenant, cases, {"h1": h1, "h2": h2}, departments)


async def record_orders(client: Client, tenant: TenantHandle) -> None:
    response = await client.put(
        "/api/v1/reports/order-volumes/2026-11-01/2026-11-30",
        headers=tenant.headers,
        json={"orders": ORDERS},
    )
    assert response.status_code in (200, 201, 204), response.text
