"""The manufacturing plugin through the real API: a tenant enables it with
`PUT /api/v1/plugins/manufacturing`, registers service requests with the plugin's extra
fields, and reads the warranty decision and the suggested resolution on the case's
findings and timeline; the last day of warranty against the day after in the tenant's
time zone (Asia/Shanghai), refusals at intake, a batch alert, and a resolution the
worker flags against the warranty.

The plugin comes from its entry point (`make install` installs `plugins/manufacturing`);
its rules are tested at every boundary in `plugins/manufacturing/tests/`.
"""

from __future__ import annotations

from typing import Any

import pytest
from cases.case_support import create_case, make_user
from plugin_support import findings, put_plugin, run_jobs, timeline
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of


def repair_request(purchase: str, received_at: str, **extra: Any) -> dict[str, Any]:
    """A phoned-in repair request for a washing machine bought on `purchase`."""
    extra.setdefault("proof_of_purchase", "invoice")
    return {
        "kind": "service_request",
        "channel": "phone",
        "received_at": received_at,
        "title": "洗衣机脱水时停机",
        "description": "洗衣机脱水时报 E21 停机,重启后仍然如此。",
        "customer": {"nickname": "李女士"},
        "product": {"name": "滚筒洗衣机", "model": "WM-100", "purchase_date": purchase},
        "demands": ["repair"],
        "extra": extra,
    }


async def enable(client: Client, tenant: TenantHandle, **settings: Any) -> dict[str, Any]:
    return await put_plugin(client, tenant, "manufacturing", enabled=True, settings=settings)


async def ours(client: Client, tenant: TenantHandle, case_id: str) -> dict[str, dict[str, Any]]:
    """The manufacturing plugin's findings on the case, by hook."""
    return {
        f["hook"]: f
        for f in await findings(client, tenant, case_id)
        if f["plugin"] == "manufacturing"
    }


@pytest.mark.parametrize(
    ("received_at", "eligible", "rule", "first_option", "cost_bearer"),
    [
        # bought 2025-03-15, 12 months: covered through 2026-03-14, Shanghai time
        ("2026-03-14T23:59:00+08:00", True, "warranty.in_warranty", "free_repair", "company"),
        ("2026-03-15T00:00:00+08:00", False, "warranty.expired", "paid_repair", "customer"),
        # the same instant as above, written in UTC: still 15 March in the tenant's zone
        ("2026-03-14T16:00:00Z", False, "warranty.expired", "paid_repair", "customer"),
        # a time without a zone is the tenant's local time
        ("2026-03-14T22:00:00", True, "warranty.in_warranty", "free_repair", "company"),
    ],
)
async def test_last_day_of_warranty_through_intake(
    client: Client,
    tenant: TenantHandle,
    received_at: str,
    eligible: bool,
    rule: str,
    first_option: str,
    cost_bearer: str,
) -> None:
    await enable(client, tenant)
    case = await create_case(
        client,
        tenant.headers,
        **repair_request("2025-03-15", received_at, fault_cause="quality_defect"),
    )
    found = await ours(client, tenant, case["id"])
    assert {"check_entitlement", "suggest_resolution"} <= set(found)
    assert all(f["status"] == "ok" for f in found.values())
    entitlement = found["check_entitlement"]["result"]
    assert (entitlement["kind"], entitlement["eligible"], entitlement["rule"]) == (
        "warranty",
        eligible,
        rule,
    )
    assert entitlement["details"]["last_day"] == "2026-03-14"
    option = found["suggest_resolution"]["result"][0]
    assert (option["solution_type"], option["cost_bearer"]) == (first_option, cost_bearer)

    shown = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_finding"]
    assert {(e["data"]["plugin"], e["data"]["hook"]) for e in shown} >= {
        ("manufacturing", "check_entitlement"),
        ("manufacturing", "suggest_resolution"),
    }


async def test_product_line_warranty_defect_on_arrival_and_quote(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant, warranty_months_by_line={"compressor": 36})
    # a compressor bought three years ago less a day: still covered
    old = await create_case(
        client,
        tenant.headers,
        **repair_request(
            "2023-03-15",
            "2026-03-14T10:00:00+08:00",
            product_line="compressor",
            fault_cause="quality_defect",
        ),
    )
    found = await ours(client, tenant, old["id"])
    assert found["check_entitlement"]["result"]["details"]["warranty_months"] == 36
    assert found["check_entitlement"]["result"]["eligible"] is True

    # day 15 after purchase: defective on arrival, a replacement first; day 16: a repair
    doa = await create_case(
        client,
        tenant.headers,
        **repair_request("2026-03-01", "2026-03-16T10:00:00+08:00", fault_cause="quality_defect"),
    )
    options = (await ours(client, tenant, doa["id"]))["suggest_resolution"]["result"]
    assert [o["solution_type"] for o in options] == ["free_replacement", "free_repair"]
    late = await create_case(
        client,
        tenant.headers,
        **repair_request("2026-03-01", "2026-03-17T10:00:00+08:00", fault_cause="quality_defect"),
    )
    options = (await ours(client, tenant, late["id"]))["suggest_resolution"]["result"]
    assert [o["solution_type"] for o in options] == ["free_repair"]

    misuse = await create_case(
        client,
        tenant.headers,
        **repair_request(
            "2026-01-01", "2026-03-01T10:00:00+08:00", fault_cause="misuse", repair_quote=380
        ),
    )
    [paid] = (await ours(client, tenant, misuse["id"]))["suggest_resolution"]["result"]
    assert (paid["solution_type"], paid["cost_bearer"], paid["responsible_party"]) == (
        "paid_repair",
        "customer",
        "customer",
    )
    assert float(paid["amount"]) == 380
    assert paid["currency"] == "CNY"


async def test_intake_refuses_a_future_purchase_date_and_warns_without_proof(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant)
    refused = await create_case(
        client, tenant.headers, expect=422, **repair_request("2026-03-16", "2026-03-15T10:00:00")
    )
    assert fields_of(refused["error"]) == ["product.purchase_date"]
    wrong = await create_case(
        client,
        tenant.headers,
        expect=422,
        **repair_request("2025-03-15", "2026-03-01T10:00:00", fault_cause="broken"),
    )
    assert "extra.fault_cause" in str(wrong["error"])
    listed = await client.get("/api/v1/cases", headers=tenant.headers)
    assert listed.json()["items"] == []  # nothing stored, no number taken

    no_proof = await create_case(
        client,
        tenant.headers,
        **repair_request("2025-06-01", "2026-03-01T10:00:00", proof_of_purchase="none"),
    )
    found = await ours(client, tenant, no_proof["id"])
    [warning] = found["validate_intake"]["result"]
    assert (warning["field"], warning["level"]) == ("extra.proof_of_purchase", "warning")
    assert found["check_entitlement"]["result"]["rule"] == "warranty.proof_missing"


async def test_quality_defects_on_one_batch_raise_a_batch_alert(
    client: Client, tenant: TenantHandle
) -> None:
    await enable(client, tenant, batch_alert_threshold=3, batch_alert_window_days=30)

    async def report(batch: str, cause: str = "quality_defect") -> dict[str, Any]:
        body = repair_request("2026-01-10", "2026-03-01T10:00:00", fault_cause=cause)
        body["product"]["batch"] = batch
        return await create_case(client, tenant.headers, **body)

    def alerts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["type"] == "correlation_alert"]

    first = await report("B2601")
    await report("B2601", cause="wear")  # not a quality defect: not counted
    await report("B2602")  # another batch
    second = await report("B2601")
    for case in (first, second):
        assert alerts(await timeline(client, tenant, case["id"])) == []
    third = await report("B2601")
    [alert] = alerts(await timeline(client, tenant, third["id"]))
    assert "manufacturing.batch:B2601" in str(alert["data"])
    fourth = await report("B2601")
    assert alerts(await timeline(client, tenant, fourth["id"])) == []  # once per window


async def test_a_paid_repair_of_an_in_warranty_defect_is_flagged_after_resolve(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    await enable(client, tenant)
    case = await create_case(
        client,
        tenant.headers,
        **repair_request("2026-01-10", "2026-03-01T10:00:00", fault_cause="quality_defect"),
    )
    await run_jobs(app_engine, tenant.id, "run_case_event_plugins")  # the registered event
    department = await client.post(
        "/api/v1/departments/", headers=tenant.headers, json={"code": "field", "name_en": "Field"}
    )
    handler_id, handler = await make_user(client, tenant, "handler")
    url = f"/api/v1/cases/{case['id']}/actions"
    steps: list[tuple[str, dict[str, Any], dict[str, str]]] = [
        ("verify", {"valid": True}, tenant.headers),
        (
            "assign",
            {"lead_department_id": department.json()["id"], "handler_id": str(handler_id)},
            tenant.headers,
        ),
        ("start", {}, handler),
        (
            "resolve",
            {
                "root_cause": "电机驱动板虚焊",
                "responsible_party": "internal",
                "solution_type": "paid_repair",
                "result": "更换驱动板,收费 380 元",
            },
            handler,
        ),
    ]
    for action, body, who in steps:
        response = await client.post(f"{url}/{action}", headers=who, json=body)
        assert response.status_code == 200, f"{action}: {response.text}"
    assert await run_jobs(app_engine, tenant.id, "run_case_event_plugins") >= 4

    flags = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_flag"]
    assert len(flags) == 1
    assert "should be free" in str(flags[0]["data"])
    assert "2027-01-09" in str(flags[0]["data"])  # the last day of warranty
    event_findings = [
        f
        for f in await findings(client, tenant, case["id"])
        if f["plugin"] == "manufacturing" and f["hook"] == "on_case_event"
    ]
    assert event_findings
    assert all(f["status"] == "ok" for f in event_findings)


async def test_a_tenant_without_the_plugin_gets_no_findings(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    await enable(client, tenant)
    body = repair_request("2026-03-16", "2026-03-15T10:00:00", fault_cause="quality_defect")
    await create_case(client, tenant.headers, expect=422, **body)
    theirs = await create_case(client, other_tenant.headers, **body)  # not refused there
    assert await ours(client, other_tenant, theirs["id"]) == {}
