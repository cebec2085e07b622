"""`Idempotency-Key` answers the first case only to the same request from the same caller;
a key reused with another body, or by another user or API key, is 422
`idempotency_key_reused`, and nothing is written."""

from __future__ import annotations

from typing import Any

from case_support import intake_body, make_user
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, bearer, fields_of

CASES = "/api/v1/cases"


async def _numbers(client: Client, tenant: TenantHandle) -> list[str]:
    listed = await client.get(CASES, headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    return [c["number"] for c in listed.json()["items"]]


def _refused(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert fields_of(error) == ["Idempotency-Key"]
    return error


async def test_a_key_reused_with_another_body_is_refused(
    client: Client, tenant: TenantHandle
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "order-A1001"}
    first = await client.post(CASES, headers=headers, json=intake_body())
    assert first.status_code == 201, first.text

    other = await client.post(CASES, headers=headers, json=intake_body(title="另一个问题"))

    error = _refused(other)
    assert first.json()["number"] in error["message"]
    assert await _numbers(client, tenant) == [first.json()["number"]]
    shown = await client.get(f"{CASES}/{first.json()['id']}", headers=tenant.headers)
    assert shown.json()["title"] == first.json()["title"]


async def test_a_key_reused_by_another_user_or_api_key_is_refused(
    client: Client, tenant: TenantHandle
) -> None:
    first = await client.post(
        CASES, headers={**tenant.headers, "Idempotency-Key": "shared-key"}, json=intake_body()
    )
    assert first.status_code == 201, first.text
    _, agent = await make_user(client, tenant, "agent")
    key = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "crm", "scopes": ["agent"]}
    )
    assert key.status_code == 201, key.text

    for caller in (agent, bearer(key.json()["key"])):
        again = await client.post(
            CASES, headers={**caller, "Idempotency-Key": "shared-key"}, json=intake_body()
        )
        _refused(again)
    assert await _numbers(client, tenant) == [first.json()["number"]]


async def test_an_identical_retry_replays_however_it_is_written(
    client: Client, tenant: TenantHandle
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "call-0042"}
    body = intake_body(received_at="2026-02-13T17:30+08:00")
    first = await client.post(CASES, headers=headers, json=body)
    assert first.status_code == 201, first.text

    # The same request: other key order, the same instant written in UTC with seconds.
    rewritten = dict(reversed(list(intake_body(received_at="2026-02-13T09:30:00Z").items())))
    again = await client.post(CASES, headers=headers, json=rewritten)

    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_a_case_made_before_fingerprints_keeps_replaying(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    headers = {**tenant.headers, "Idempotency-Key": "from-last-year"}
    first = await client.post(CASES, headers=headers, json=intake_body())
    assert first.status_code == 201, first.text
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(text("UPDATE cases SET idempotency_fingerprint = NULL"))

    again = await client.post(CASES, headers=headers, json=intake_body(title="改过的标题"))

    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]


async def test_the_same_key_in_another_tenant_is_another_request(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for handle in (tenant, other_tenant):
        response = await client.post(
            CASES, headers={**handle.headers, "Idempotency-Key": "k-1"}, json=intake_body()
        )
        assert response.status_code == 201, response.text
