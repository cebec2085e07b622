"""GET /api/v1/cases: filters, stable cursor pages, search in Chinese and English, masks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from case_support import config_id, create_case, make_user
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of


async def _list(client: Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/cases", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _numbers(client: Client, headers: dict[str, str], **params: Any) -> list[str]:
    return [c["number"] for c in (await _list(client, headers, **params))["items"]]


async def _sql(owner_engine: AsyncEngine, tenant: TenantHandle, sql: str, **params: Any) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(text(sql), params)


async def test_pages_are_stable_newest_first(client: Client, tenant: TenantHandle) -> None:
    base = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)
    made = []
    for i in range(7):
        # two cases share each received time: the id breaks the tie
        at = (base + dt.timedelta(hours=i // 2)).isoformat()
        made.append(await create_case(client, tenant.headers, received_at=at, customer=None))
    expected = [
        c["id"] for c in sorted(made, key=lambda c: (c["received_at"], c["id"]), reverse=True)
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = await _list(client, tenant.headers, **params)
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # a case received meanwhile (newer than everything) does not disturb the walk
        if pages == 1:
            await create_case(client, tenant.headers, customer=None)
    assert seen == expected
    assert pages == 3


async def test_filters(client: Client, tenant: TenantHandle, owner_engine: AsyncEngine) -> None:
    logistics = await config_id(client, tenant, "categories", "logistics_delay")
    urgent = await config_id(client, tenant, "severities", "urgent")
    handler_id, _ = await make_user(client, tenant, "handler")
    a = await create_case(
        client,
        tenant.headers,
        channel="web",
        category_id=logistics,
        received_at="2026-09-10T10:00:00+08:00",
    )
    b = await create_case(
        client,
        tenant.headers,
        kind="service_request",
        severity_id=urgent,
        received_at="2026-09-20T23:30:00+08:00",
    )
    c = await create_case(
        client, tenant.headers, kind="inquiry", received_at="2026-10-02T09:00:00+08:00"
    )
    departments = await client.get("/api/v1/departments", headers=tenant.headers)
    assert departments.status_code == 200, departments.text
    # 物流部 is one of a new tenant's default departments.
    department_id = next(d["id"] for d in departments.json() if d["code"] == "logistics")
    await _sql(
        owner_engine,
        tenant,
        "UPDATE cases SET status = 'assigned', handler_id = :h, lead_department_id = :d,"
        " due_at = now() - interval '1 hour' WHERE id = :id",
        h=str(handler_id),
        d=department_id,
        id=b["id"],
    )
    await _sql(
        owner_engine,
        tenant,
        "UPDATE cases SET status = 'resolved', due_at = now() - interval '1 hour' WHERE id = :id",
        id=c["id"],
    )
    h = tenant.headers
    assert await _numbers(client, h, channel="web") == [a["number"]]
    assert await _numbers(client, h, category="logistics_delay") == [a["number"]]
    assert await _numbers(client, h, category=logistics) == [a["number"]]
    assert await _numbers(client, h, severity="urgent") == [b["number"]]
    assert await _numbers(client, h, kind="inquiry") == [c["number"]]
    assert await _numbers(client, h, status="assigned") == [b["number"]]
    assert await _numbers(client, h, status="assigned,resolved") == [c["number"], b["number"]]
    assert await _numbers(client, h, assignee=str(handler_id)) == [b["number"]]
    assert await _numbers(client, h, department=department_id) == [b["number"]]
    # c is resolved; a's first response (24 h from 2026-09-10, its SLA clock) is overdue
    assert await _numbers(client, h, breached="true") == [b["number"], a["number"]]
    assert await _numbers(client, h, breached="false") == [c["number"]]
    # dates are the tenant's days (Asia/Shanghai); received_to includes its whole day
    assert await _numbers(client, h, received_from="2026-09-11", received_to="2026-09-20") == [
        b["number"]
    ]
    assert await _numbers(client, h, received_to="2026-09-10") == [a["number"]]
    assert await _numbers(client, h, received_from="2026-10-02T09:00:00+08:00") == [c["number"]]
    for bad in (
        {"assignee": "nobody"},
        {"breached": "maybe"},
        {"received_from": "last week"},
        {"limit": 201},
        {"status": "registered,sleeping"},
        {"kind": "rant"},
    ):
        response = await client.get("/api/v1/cases", headers=h, params=bad)
        assert response.status_code == 400, (bad, response.text)
        assert fields_of(response.json())[0] == next(iter(bad)), response.text
    # A cursor is any text to the schema; one this API did not give is refused by a rule.
    response = await client.get("/api/v1/cases", headers=h, params={"cursor": "not-a-cursor"})
    assert response.status_code == 422, response.text
    assert fields_of(response.json()) == ["cursor"]


async def test_search_finds_chinese_english_numbers_and_nicknames(
    client: Client, tenant: TenantHandle
) -> None:
    kettle = await create_case(
        client,
        tenant.headers,
        title="电水壶底座漏电",
        description="使用三天后底座漏电,孩子被电到。",
        customer={"nickname": "晴天小猪"},
    )
    parcel = await create_case(
        client,
        tenant.headers,
        kind="inquiry",
        title="Parcel never arrived",
        description="The courier marked it DELIVERED but nothing came.",
        customer={"nickname": "bob_builder"},
    )
    h = tenant.headers
    assert await _numbers(client, h, q="漏电") == [kettle["number"]]
    assert await _numbers(client, h, q="孩子被电") == [kettle["number"]]
    assert await _numbers(client, h, q="电") == [kettle["number"]]  # one character
    assert await _numbers(client, h, q="晴天小猪") == [kettle["number"]]
    assert await _numbers(client, h, q="delivered courier") == [parcel["number"]]
    assert await _numbers(client, h, q="PARCEL") == [parcel["number"]]
    assert await _numbers(client, h, q="bob_builder") == [parcel["number"]]
    assert await _numbers(client, h, q=kettle["number"]) == [kettle["number"]]
    assert await _numbers(client, h, q="漏电 parcel") == []  # every word must match
    assert await _numbers(client, h, q="冰箱") == []
    assert await _numbers(client, h, q="!!!") == []


async def test_lists_and_search_never_show_a_plain_phone_without_pii(
    client: Client, tenant: TenantHandle
) -> None:
    await create_case(
        client,
        tenant.headers,
        title="充电器发烫",
        customer={"nickname": "阿强", "phone": "13900001111", "email": "aqiang@example.com"},
    )
    _, agent = await make_user(client, tenant, "agent")
    _, viewer = await make_user(client, tenant, "viewer")
    for headers in (agent, viewer):
        for params in ({}, {"q": "充电器"}, {"q": "阿强"}):
            response = await client.get("/api/v1/cases", headers=headers, params=params)
            assert response.status_code == 200, response.text
            assert len(response.json()["items"]) == 1
            assert "13900001111" not in response.text
            assert "aqiang@example.com" not in response.text
            customer = response.json()["items"][0]["customer"]
            assert customer["phone"] == "139****1111"
            assert customer["masked"] is True
    _, privileged = await make_user(client, tenant, "supervisor", pii=True)
    shown = await _list(client, privileged, q="充电器")
    assert shown["items"][0]["customer"]["phone"] == "13900001111"
