"""GET /api/v1/cases for the queues: next due first (`order=due`), and the filters
`assigned`, `escalated` and `due_before`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from case_support import create_case
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle


async def _page(client: Client, tenant: TenantHandle, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/cases", headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _set(owner_engine: AsyncEngine, tenant: TenantHandle, sql: str, **params: Any) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(text(sql), params)


async def test_next_due_first_in_stable_pages_without_due_last(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    now = dt.datetime.now(dt.UTC)
    made = [await create_case(client, tenant.headers, customer=None) for _ in range(7)]
    # Two cases share each due time (the id breaks the tie); one has none.
    for n, case in enumerate(made[:6]):
        await _set(
            owner_engine,
            tenant,
            "UPDATE cases SET due_at = :due WHERE id = :id",
            due=now + dt.timedelta(hours=3 - n // 2),
            id=case["id"],
        )
    await _set(
        owner_engine, tenant, "UPDATE cases SET due_at = NULL WHERE id = :id", id=made[6]["id"]
    )
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"order": "due", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await _page(client, tenant, **params)
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[-1] == made[6]["id"]
    assert len(seen) == 7
    assert len(set(seen)) == 7
    # Due times ascend (read back through the API), ties by id.
    listed = (await _page(client, tenant, order="due", limit=10))["items"]
    keys = [(c["due"], c["id"]) for c in listed[:6]]
    assert keys == sorted(keys)
    assert listed[6]["due"] is None
    assert [c["id"] for c in listed] == seen

    assert (
        await client.get("/api/v1/cases", headers=tenant.headers, params={"cursor": "nonsense"})
    ).status_code == 422
    bad_order = await client.get("/api/v1/cases", headers=tenant.headers, params={"order": "x"})
    assert bad_order.status_code == 400


async def test_assigned_escalated_and_due_before(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    now = dt.datetime.now(dt.UTC)
    soon, later, escalated = [
        await create_case(client, tenant.headers, customer=None) for _ in range(3)
    ]
    for case, hours in ((soon, 1), (later, 30), (escalated, 50)):
        await _set(
            owner_engine,
            tenant,
            "UPDATE cases SET due_at = :due WHERE id = :id",
            due=now + dt.timedelta(hours=hours),
            id=case["id"],
        )
    await _set(
        owner_engine,
        tenant,
        "UPDATE cases SET escalation_level = 1, handler_id = :admin WHERE id = :id",
        admin=str(tenant.admin_id),
        id=escalated["id"],
    )

    def ids(page: dict[str, Any]) -> set[str]:
        return {c["id"] for c in page["items"]}

    before = (now + dt.timedelta(hours=2)).isoformat()
    assert ids(await _page(client, tenant, due_before=before)) == {soon["id"]}
    assert ids(await _page(client, tenant, escalated="true")) == {escalated["id"]}
    assert ids(await _page(client, tenant, escalated="false")) == {soon["id"], later["id"]}
    assert ids(await _page(client, tenant, assigned="true")) == {escalated["id"]}
    assert ids(await _page(client, tenant, assigned="false")) == {soon["id"], later["id"]}
    bad = await client.get("/api/v1/cases", headers=tenant.headers, params={"due_before": "soon"})
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "due_before"
