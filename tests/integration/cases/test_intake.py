"""Intake through POST /api/v1/cases: numbers, defaults, validation, idempotency, repeats."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from case_support import concurrent_client, config_id, create_case, intake_body, make_user
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.settings import Settings
from support import Client, TenantHandle, bearer, fields_of

YEAR = dt.datetime.now(ZoneInfo("Asia/Shanghai")).year  # the tenant's time zone


async def _count(owner_engine: AsyncEngine, tenant: TenantHandle, table: str) -> int:
    """Rows of `tenant` in `table`, read as the owner (RLS is forced on the owner too)."""
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        return int((await conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())


async def _audit(client: Client, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_intake_registers_a_numbered_case_with_defaults(
    client: Client, tenant: TenantHandle
) -> None:
    _, agent = await make_user(client, tenant, "agent")
    response = await client.post(
        "/api/v1/cases",
        headers=agent,
        json=intake_body(received_at="2026-11-20T09:41:00", problem_place="上海市浦东新区"),
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["number"] == f"CT-{dt.date(2026, 11, 20).year}-00001"
    assert case["status"] == "registered"
    assert case["severity"] == "normal"  # the tenant's lowest rank
    assert case["due"] == "2026-11-21T01:41:00Z"  # the default SLA policy: a reply within 24 h
    assert case["channel"] == "phone"
    assert case["demands"] == ["refund", "apology"]
    assert case["product"] == {"name": "电水壶", "model": "K-200", "order_number": "A1001"}
    assert case["problem_place"] == "上海市浦东新区"
    # a time without a zone is the tenant's (Asia/Shanghai): 09:41 there is 01:41 UTC
    assert dt.datetime.fromisoformat(case["received_at"]) == dt.datetime(
        2026, 11, 20, 1, 41, tzinfo=dt.UTC
    )
    assert case["customer"]["nickname"] == "小王"
    assert case["customer"]["phone"] == "138****5678"
    assert case["is_repeat"] is False
    assert case["repeat_of"] == []
    assert case["version"] == 1
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/cases/{case['id']}"

    timeline = await client.get(f"/api/v1/cases/{case['id']}/timeline", headers=agent)
    assert [e["type"] for e in timeline.json()["items"]] == ["registered"]
    assert timeline.json()["items"][0]["visibility"] == "customer"
    actions = [e["action"] for e in await _audit(client, tenant)]
    assert "case.create" in actions


async def test_each_kind_numbers_by_its_pattern(client: Client, tenant: TenantHandle) -> None:
    received = "2026-03-05T10:00:00+08:00"
    numbers = [
        (await create_case(client, tenant.headers, kind=kind, received_at=received))["number"]
        for kind in ("complaint", "service_request", "inquiry", "inquiry", "complaint")
    ]
    assert numbers == [
        "CT-2026-00001",
        "SR-2026-00001",
        "2026030001",
        "2026030002",
        "CT-2026-00002",
    ]
    # a new period starts again at 1
    other_month = await create_case(
        client, tenant.headers, kind="suggestion", received_at="2026-04-01T00:10:00+08:00"
    )
    assert other_month["number"] == "2026040001"


async def test_category_and_severity_are_copied(client: Client, tenant: TenantHandle) -> None:
    category = await config_id(client, tenant, "categories", "logistics_delay")
    severity = await config_id(client, tenant, "severities", "urgent")
    case = await create_case(client, tenant.headers, category_id=category, severity_id=severity)
    assert (case["category_id"], case["category"]) == (category, "logistics_delay")
    assert (case["severity_id"], case["severity"]) == (severity, "urgent")


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"channel": "pigeon"}, 422, "channel"),
        ({"demands": ["refund", "moon"]}, 422, "demands"),
        ({"kind": "rant"}, 400, "kind"),
        ({"title": ""}, 400, "title"),
        ({"title": "   "}, 422, "title"),
        ({"description": None}, 400, "description"),
        ({"received_at": "2999-01-01T00:00:00Z"}, 422, "received_at"),
        ({"received_at": "yesterday"}, 400, "received_at"),
        ({"category_id": "00000000-0000-0000-0000-000000000000"}, 422, "category_id"),
        ({"severity_id": "00000000-0000-0000-0000-000000000000"}, 422, "severity_id"),
        ({"product": {"name": "x", "colour": "red"}}, 400, "product.colour"),
        ({"customer": {"nickname": "x", "age": 3}}, 400, "customer.age"),
        ({"priority": "high"}, 400, "priority"),
    ],
)
async def test_invalid_intake_names_the_field_and_writes_nothing(
    client: Client,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
    overrides: dict[str, Any],
    status: int,
    field: str,
) -> None:
    response = await client.post(
        "/api/v1/cases", headers=tenant.headers, json=intake_body(**overrides)
    )
    assert response.status_code == status, response.text
    assert fields_of(response.json())[0] == field, response.text
    for table in ("cases", "customers", "case_events", "number_counters"):
        assert await _count(owner_engine, tenant, table) == 0, table
    # and the number was not used up
    assert (await create_case(client, tenant.headers))["number"].endswith("-00001")


async def test_only_intake_roles_and_scoped_api_keys_register(
    client: Client, tenant: TenantHandle
) -> None:
    _, viewer = await make_user(client, tenant, "viewer")
    _, handler = await make_user(client, tenant, "handler")
    for headers in (viewer, handler):
        response = await client.post("/api/v1/cases", headers=headers, json=intake_body())
        assert response.status_code == 403, response.text
    key = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "crm", "scopes": ["agent"]}
    )
    case = await create_case(client, bearer(key.json()["key"]), channel="api")
    assert case["registrar_api_key_id"] == key.json()["id"]
    assert case["registrar_id"] is None


async def test_fifty_concurrent_intakes_get_fifty_consecutive_numbers(
    settings: Settings, tenant: TenantHandle
) -> None:
    async with concurrent_client(settings) as concurrent:

        async def one(i: int) -> Any:
            body = intake_body(title=f"并发 {i}", customer={"phone": f"139{i:08d}"})
            return await concurrent.post("/api/v1/cases", headers=tenant.headers, json=body)

        responses = await asyncio.gather(*(one(i) for i in range(50)))
    assert all(r.status_code == 201 for r in responses), [
        r.text for r in responses if r.status_code != 201
    ]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"CT-{YEAR}-{n:05d}" for n in range(1, 51)]


async def test_a_retried_idempotency_key_answers_the_same_case(
    client: Client, tenant: TenantHandle
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "call-2026-0001"}
    first = await client.post("/api/v1/cases", headers=headers, json=intake_body())
    again = await client.post("/api/v1/cases", headers=headers, json=intake_body())
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


async def test_ten_concurrent_requests_with_one_key_make_one_case(
    client: Client, settings: Settings, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "web-form-7f3a"}
    async with concurrent_client(settings) as concurrent:
        responses = await asyncio.gather(
            *(
                concurrent.post("/api/v1/cases", headers=headers, json=intake_body())
                for _ in range(10)
            )
        )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201], [
        r.text for r in responses
    ]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(owner_engine, tenant, "cases") == 1
    # the losers gave their numbers back: the next case continues without a gap
    assert (await create_case(client, tenant.headers))["number"] == f"CT-{YEAR}-00002"


async def test_same_customer_and_category_within_the_window_is_a_repeat(
    client: Client, tenant: TenantHandle
) -> None:
    logistics = await config_id(client, tenant, "categories", "logistics_delay")
    billing = await config_id(client, tenant, "categories", "billing_dispute")
    now = dt.datetime.now(dt.UTC)

    def at(days_ago: int) -> str:
        return (now - dt.timedelta(days=days_ago)).isoformat()

    customer = {"external_ref": "CRM-42", "nickname": "老李"}
    old = await create_case(
        client, tenant.headers, customer=customer, category_id=logistics, received_at=at(45)
    )
    first = await create_case(
        client, tenant.headers, customer=customer, category_id=logistics, received_at=at(10)
    )
    other = await create_case(
        client, tenant.headers, customer=customer, category_id=billing, received_at=at(5)
    )
    repeat = await create_case(client, tenant.headers, customer=customer, category_id=logistics)
    stranger = await create_case(
        client, tenant.headers, customer={"external_ref": "CRM-43"}, category_id=logistics
    )
    assert not old["is_repeat"]
    assert not first["is_repeat"]
    assert not other["is_repeat"]
    assert repeat["is_repeat"] is True
    assert repeat["repeat_of"] == [first["id"]]  # the 45-day-old one is outside 30 days
    assert not stranger["is_repeat"]
    assert repeat["customer"]["id"] == first["customer"]["id"]


async def test_one_key_racing_across_number_counters_still_makes_one_case(
    client: Client, settings: Settings, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    """Requests of different kinds queue on different counters, so they meet at the
    unique key instead: the losers roll back (numbers included); a retry of the winner's
    body answers its case, the other bodies reused the key and are refused."""
    headers = {**tenant.headers, "Idempotency-Key": "retry-across-kinds"}
    kinds = ["complaint", "inquiry", "service_request", "suggestion"] * 3
    async with concurrent_client(settings) as concurrent:
        responses = await asyncio.gather(
            *(
                concurrent.post("/api/v1/cases", headers=headers, json=intake_body(kind=kind))
                for kind in kinds
            )
        )
    assert sorted(r.status_code for r in responses) == [200] * 2 + [201] + [422] * 9
    assert len({r.json()["id"] for r in responses if r.status_code < 300}) == 1
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 422]
    assert set(refused) == {"idempotency_key_reused"}
    assert await _count(owner_engine, tenant, "cases") == 1
    winner = next(r.json() for r in responses if r.status_code == 201)["kind"]
    # only the winner's number was kept: every counter continues right after it
    month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y%m")
    default_next = 2 if winner in ("inquiry", "suggestion") else 1
    expected = {
        "complaint": f"CT-{YEAR}-{2 if winner == 'complaint' else 1:05d}",
        "service_request": f"SR-{YEAR}-{2 if winner == 'service_request' else 1:05d}",
        "inquiry": f"{month}{default_next:04d}",
        "suggestion": f"{month}{default_next + 1:04d}",
    }
    for kind, number in expected.items():
        assert (await create_case(client, tenant.headers, kind=kind))["number"] == number


async def test_a_number_another_pattern_already_gave_is_skipped(
    client: Client, tenant: TenantHandle
) -> None:
    """A changed pattern starts a new counter whose numbers may print like old ones:
    the one already given is passed over, never given twice."""
    first = await create_case(client, tenant.headers, kind="complaint")
    assert first["number"] == f"CT-{YEAR}-00001"
    changed = await client.patch(
        "/api/v1/profile",
        headers=tenant.headers,
        json={
            "number_patterns": {"default": "{yyyy}{mm}{seq:04}", "complaint": "CT-{yyyy}-0{seq:04}"}
        },
    )
    assert changed.status_code == 200, changed.text
    numbers = [(await create_case(client, tenant.headers))["number"] for _ in range(2)]
    assert numbers == [f"CT-{YEAR}-00002", f"CT-{YEAR}-00003"]
