"""The audit listing, and the entries that identity and tenant changes leave."""

from __future__ import annotations

import datetime as dt
from typing import Any

from support import OPERATOR, PASSWORD, Client, TenantHandle, bearer, login


async def _entries(client: Client, tenant: TenantHandle, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _add_user(client: Client, tenant: TenantHandle, name: str, roles: list[str]) -> str:
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": f"{name}@{tenant.slug}.example.com",
            "display_name": name,
            "password": PASSWORD,
            "roles": roles,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_tenant_creation_and_its_first_admin_are_audited(
    client: Client, tenant: TenantHandle
) -> None:
    entries = await _entries(client, tenant)
    by_action = {e["action"]: e for e in entries}
    assert by_action["tenant.create"]["entity_id"] == str(tenant.id)
    assert by_action["tenant.create"]["actor"] == "operator"
    assert by_action["tenant.create"]["after"]["slug"] == tenant.slug
    admin = by_action["user.create"]
    assert (admin["entity_id"], admin["actor"]) == (str(tenant.admin_id), "operator")
    assert admin["after"]["roles"] == ["admin"]


async def test_user_changes_are_audited_without_the_password_hash(
    client: Client, tenant: TenantHandle
) -> None:
    user_id = await _add_user(client, tenant, "amy", ["agent"])
    response = await client.patch(
        f"/api/v1/users/{user_id}",
        headers=tenant.headers,
        json={"roles": ["handler"], "password": "a new long password"},
    )
    assert response.status_code == 200, response.text
    created = await _entries(client, tenant, action="user.create", entity_id=user_id)
    updated = await _entries(client, tenant, action="user.update", entity_id=user_id)
    assert len(created) == 1
    assert created[0]["actor"] == f"user:{tenant.admin_id}"
    assert created[0]["after"]["email"] == f"amy@{tenant.slug}.example.com"
    assert len(updated) == 1
    assert updated[0]["before"] == {"roles": ["agent"]}
    assert updated[0]["after"] == {"roles": ["handler"], "password_changed": True}
    listing = await client.get("/api/v1/audit", headers=tenant.headers)
    assert "argon2" not in listing.text
    assert "password_hash" not in listing.text
    assert PASSWORD not in listing.text


async def test_an_update_that_changes_nothing_writes_no_entry(
    client: Client, tenant: TenantHandle
) -> None:
    user_id = await _add_user(client, tenant, "bo", ["agent"])
    response = await client.patch(
        f"/api/v1/users/{user_id}", headers=tenant.headers, json={"roles": ["agent"]}
    )
    assert response.status_code == 200, response.text
    assert await _entries(client, tenant, action="user.update") == []


async def test_api_keys_are_audited_on_create_and_revoke(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "crm", "scopes": ["agent"]}
    )
    assert response.status_code == 201, response.text
    key = response.json()
    revoked = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    again = await client.delete(f"/api/v1/api-keys/{key['id']}", headers=tenant.headers)
    assert again.status_code == 200
    entries = await _entries(client, tenant, entity_type="api_key")
    assert [e["action"] for e in entries] == ["api_key.revoke", "api_key.create"]
    assert entries[1]["after"] == {"name": "crm", "prefix": key["prefix"], "scopes": ["agent"]}
    assert key["key"] not in str(entries)


async def test_suspend_and_resume_are_audited_in_the_tenants_chain(
    client: Client, tenant: TenantHandle
) -> None:
    for verb in ("suspend", "resume", "resume"):
        response = await client.post(f"/platform/v1/tenants/{tenant.slug}/{verb}", headers=OPERATOR)
        assert response.status_code == 200, response.text
    entries = await _entries(client, tenant, entity_type="tenant")
    assert [e["action"] for e in entries] == ["tenant.resume", "tenant.suspend", "tenant.create"]
    assert entries[1]["before"] == {"status": "active"}
    assert entries[1]["after"] == {"status": "suspended"}
    verify = await client.get("/api/v1/audit/verify", headers=tenant.headers)
    assert verify.json()["ok"] is True


async def test_filters_and_cursor_pages(client: Client, tenant: TenantHandle) -> None:
    for n in range(5):
        await _add_user(client, tenant, f"user{n}", ["agent"])
    everything = await _entries(client, tenant)
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True)
    paged: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/audit", headers=tenant.headers, params=params)
        body = response.json()
        paged += [e["seq"] for e in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == seqs

    mine = await _entries(client, tenant, actor=f"user:{tenant.admin_id}")
    assert len(mine) == 5
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert await _entries(client, tenant, **{"from": later.isoformat()}) == []
    assert len(await _entries(client, tenant, to=later.isoformat())) == len(everything)
    bad = await client.get("/api/v1/audit", headers=tenant.headers, params={"cursor": "x"})
    assert bad.status_code == 422


async def test_only_admins_and_supervisors_read_the_audit(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    await _add_user(client, tenant, "agent", ["agent"])
    await _add_user(client, tenant, "boss", ["supervisor"])
    agent = bearer(await login(client, tenant.slug, f"agent@{tenant.slug}.example.com"))
    boss = bearer(await login(client, tenant.slug, f"boss@{tenant.slug}.example.com"))
    for path in ("/api/v1/audit", "/api/v1/audit/verify"):
        assert (await client.get(path, headers=agent)).status_code == 403
        assert (await client.get(path, headers=boss)).status_code == 200
    theirs = await client.get("/api/v1/audit", headers=other_tenant.headers)
    assert str(tenant.id) not in theirs.text
    assert str(tenant.admin_id) not in theirs.text
