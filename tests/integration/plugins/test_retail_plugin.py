"""The retail plugin through the real API: a tenant enables it with
`PUT /api/v1/plugins/retail`, registers return requests and delivery complaints with
the plugin's extra fields, and reads the decisions on the case's findings and timeline:
day 7 against day 8 of the no-reason return in the tenant's time zone (Asia/Shanghai),
an exclusion, the defect return (day 7) and exchange (day 15, not day 16), the carrier
named as responsible for a delivery delay, and a resolution the worker flags.

The plugin comes from its entry point (`make install` installs `plugins/retail`); its
rules are tested at every boundary in `plugins/retail/tests/`.
"""

from __future__ import annotations

from typing import Any

import pytest
from cases.case_support import config_id, create_case, make_user
from plugin_support import findings, put_plugin, run_jobs, timeline
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of

RECEIVED = "2026-03-01"  # the day the goods arrived: day 0


def return_request(
    received_at: str, *, demands: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """A return request filed in the app, for trainers delivered on 1 March."""
    extra.setdefault("received_date", RECEIVED)
    extra.setdefault("order_amount", 459.0)
    return {
        "kind": "service_request",
        "channel": "app",
        "received_at": received_at,
        "title": "申请退货",
        "description": "鞋子尺码不合适,申请退货退款。",
        "customer": {"nickname": "小周"},
        "product": {"name": "跑步鞋", "order_number": "SW-20260228-001"},
        "demands": demands or ["refund"],
        "extra": extra,
    }


async def enable(client: Client, tenant: TenantHandle, **settings: Any) -> dict[str, Any]:
    return await put_plugin(client, tenant, "retail", enabled=True, settings=settings)


async def ours(client: Client, tenant: TenantHandle, case_id: str) -> dict[str, dict[str, Any]]:
    """The retail plugin's findings on the case, by hook."""
    return {
        f["hook"]: f for f in await findings(client, tenant, case_id) if f["plugin"] == "retail"
    }


def decisions(found: dict[str, dict[str, Any]]) -> list[tuple[str, bool, str]]:
    result = found["check_entitlement"]["result"]
    items = result if isinstance(result, list) else [result]
    return [(e["kind"], e["eligible"], e["rule"]) for e in items]


OK = ("return", True, "no_reason_return.within_window")
PASSED = ("return", False, "no_reason_return.window_passed")


@pytest.mark.parametrize(
    ("received_at", "expected", "first_option"),
    [
        ("2026-03-08T23:59:00+08:00", OK, "refund"),  # day 7: eligible
        ("2026-03-09T00:00:00+08:00", PASSED, "explain_policy"),  # day 8: not
        ("2026-03-08T16:00:00Z", PASSED, "explain_policy"),  # 00:00 on the 9th in Shanghai
        ("2026-03-08T20:00:00", OK, "refund"),  # no zone: the tenant's local time
    ],
)
async def test_no_reason_return_day_7_vs_day_8_through_intake(
    client: Client,
    tenant: TenantHandle,
    received_at: str,
    expected: tuple[str, bool, str],
    first_option: str,
) -> None:
    await enable(client, tenant)
    case = await create_case(
        client, tenant.headers, **return_request(received_at, item_condition="resaleable")
    )
    found = await ours(client, tenant, case["id"])
    assert all(f["status"] == "ok" for f in found.values())
    assert decisions(found) == [expected]
    [option] = found["suggest_resolution"]["result"]
    assert option["solution_type"] == first_option
    if expected[1]:
        details = found["check_entitlement"]["result"][0]["details"]
        assert (details["day"], details["refund_amount"]) == (7, 459.0)
        assert details["return_shipping_payer"] == "customer"
        assert (float(option["amount"]), option["cost_bearer"]) == (459.0, "customer")

    shown = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_finding"]
    assert ("retail", "check_entitlement") in {
        (e["data"]["plugin"], e["data"]["hook"]) for e in shown
    }


@pytest.mark.parametrize(
    ("extra", "plugin_settings", "expected"),
    [
        ({"goods_category": "perishable"}, {}, ("return", False, "no_reason_return.excluded")),
        (
            {"goods_category": "digital", "item_condition": "opened"},
            {},
            ("return", False, "no_reason_return.excluded"),
        ),
        ({"goods_category": "perishable"}, {"exclusions": ["custom_made"]}, OK),
        ({"item_condition": "damaged"}, {}, ("return", False, "no_reason_return.not_resaleable")),
    ],
)
async def test_exclusions_and_condition_through_intake(
    client: Client,
    tenant: TenantHandle,
    extra: dict[str, Any],
    plugin_settings: dict[str, Any],
    expected: tuple[str, bool, str],
) -> None:
    await enable(client, tenant, **plugin_settings)
    case = await create_case(
        client, tenant.headers, **return_request("2026-03-03T10:00:00", **extra)
    )
    assert decisions(await ours(client, tenant, case["id"])) == [expected]


@pytest.mark.parametrize(
    ("received_at", "ret", "exchange", "options"),
    [
        ("2026-03-08T12:00:00", True, True, ["refund", "exchange"]),  # day 7
        ("2026-03-09T12:00:00", False, True, ["exchange"]),  # day 8
        ("2026-03-16T12:00:00", False, True, ["exchange"]),  # day 15
        ("2026-03-17T12:00:00", False, False, ["warranty_repair"]),  # day 16
    ],
)
async def test_defect_return_7_days_exchange_15_days_through_intake(
    client: Client,
    tenant: TenantHandle,
    received_at: str,
    ret: bool,
    exchange: bool,
    options: list[str],
) -> None:
    await enable(client, tenant)
    # perishable goods: excluded from no-reason returns, never from defect returns
    case = await create_case(
        client,
        tenant.headers,
        **return_request(received_at, defect=True, goods_category="perishable"),
    )
    found = await ours(client, tenant, case["id"])
    assert [(kind, eligible) for kind, eligible, _ in decisions(found)] == [
        ("return", ret),
        ("exchange", exchange),
    ]
    assert [o["solution_type"] for o in found["suggest_resolution"]["result"]] == options
    if ret:
        details = found["check_entitlement"]["result"][0]["details"]
        assert details["return_shipping_payer"] == "merchant"


async def test_intake_refuses_a_future_received_date(client: Client, tenant: TenantHandle) -> None:
    await enable(client, tenant)
    refused = await create_case(
        client,
        tenant.headers,
        expect=422,
        **return_request("2026-03-01T10:00:00", received_date="2026-03-02"),
    )
    assert fields_of(refused["error"]) == ["extra.received_date"]
    wrong = await create_case(
        client, tenant.headers, expect=422, **return_request("2026-03-03T10:00:00", defect="yes")
    )
    assert "extra.defect" in str(wrong["error"])


async def test_a_delivery_delay_puts_the_carrier_in_charge_and_a_wrong_resolve_is_flagged(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    await enable(client, tenant)
    # uncategorised: the plugin suggests the logistics category from the text
    loose = await create_case(
        client,
        tenant.headers,
        kind="complaint",
        channel="app",
        title="快递延误一周",
        description="订单 SW-1002 显示中通快递在中转站滞留五天,一直不派送。",
        demands=["apology", "compensation"],
    )
    found = await ours(client, tenant, loose["id"])
    assert found["classify_case"]["result"]["category"]["code"] == "logistics_delay"
    [claim] = found["suggest_resolution"]["result"]
    assert (claim["solution_type"], claim["responsible_party"], claim["cost_bearer"]) == (
        "carrier_claim",
        "third_party",
        "third_party",
    )
    assert "中通" in claim["description"]
    assert "check_entitlement" not in found  # no return asked for

    # filed under logistics delay, the carrier given: resolved as internal -> flagged
    logistics = await config_id(client, tenant, "categories", "logistics_delay")
    case = await create_case(
        client,
        tenant.headers,
        kind="complaint",
        channel="phone",
        title="包裹一直没到",
        description="下单十天了还没收到。",
        category_id=logistics,
        demands=["apology"],
        extra={"carrier": "顺丰速运"},
    )
    [claim] = (await ours(client, tenant, case["id"]))["suggest_resolution"]["result"]
    assert "顺丰速运" in claim["description"]
    department = await client.post(
        "/api/v1/departments/", headers=tenant.headers, json={"code": "wh", "name_en": "Warehouse"}
    )
    handler_id, handler = await make_user(client, tenant, "handler")
    url = f"/api/v1/cases/{case['id']}/actions"
    for action, body, who in [
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
                "root_cause": "仓库发货晚",
                "responsible_party": "internal",
                "solution_type": "coupon",
                "result": "补偿 20 元优惠券",
            },
            handler,
        ),
    ]:
        response = await client.post(f"{url}/{action}", headers=who, json=body)
        assert response.status_code == 200, f"{action}: {response.text}"
    await run_jobs(app_engine, tenant.id, "run_case_event_plugins")
    flags = [e for e in await timeline(client, tenant, case["id"]) if e["type"] == "plugin_flag"]
    assert len(flags) == 1
    assert "顺丰速运" in str(flags[0]["data"])


async def test_a_resolve_naming_the_carrier_is_not_flagged(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    await enable(client, tenant)
    logistics = await config_id(client, tenant, "categories", "logistics_delay")
    case = await create_case(
        client,
        tenant.headers,
        kind="complaint",
        channel="phone",
        title="物流太慢",
        description="一周才到。",
        category_id=logistics,
        demands=["apology"],
        extra={"carrier": "韵达"},
    )
    department = await client.post(
        "/api/v1/departments/", headers=tenant.headers, json={"code": "wh", "name_en": "Warehouse"}
    )
    handler_id, handler = await make_user(client, tenant, "handler")
    url = f"/api/v1/cases/{case['id']}/actions"
    for action, body, who in [
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
                "root_cause": "韵达中转延误",
                "responsible_party": "third_party",
                "third_party": "韵达",
                "solution_type": "apology",
                "result": "已道歉并向韵达索赔",
            },
            handler,
        ),
    ]:
        response = await client.post(f"{url}/{action}", headers=who, json=body)
        assert response.status_code == 200, f"{action}: {response.text}"
    assert await run_jobs(app_engine, tenant.id, "run_case_event_plugins") >= 5
    events = await timeline(client, tenant, case["id"])
    assert [e for e in events if e["type"] == "plugin_flag"] == []
