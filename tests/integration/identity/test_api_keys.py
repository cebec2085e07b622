"""Tenant API keys: shown once, stored hashed, scoped, revocable, with a last-used time."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.identity.models import ApiKey
from closeloop.identity.tokens import hash_api_key
from support import Client, TenantHandle, bearer, fields_of

KEYS = "/api/v1/api-keys/"
ME = "/api/v1/auth/me"


async def _create_key(
    client: Client, tenant: TenantHandle, scopes: list[str], name: str = "crm"
) -> dict:
    response = await client.post(
        KEYS, headers=tenant.headers, json={"name": name, "scopes": scopes}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _stored_keys(app_engine: AsyncEngine, tenant_id: uuid.UUID) -> list[ApiKey]:
    async with transaction(sessionmaker(app_engine), tenant_id) as session:
        return list((await session.scalars(select(ApiKey))).all())


async def test_key_is_shown_once_and_only_its_prefix_is_listed(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    created = await _create_key(client, tenant, ["agent"])

    key = created["key"]
    assert key.startswith("clk_")
    assert created["prefix"].startswith("clk_")
    assert created["scopes"] == ["agent"]

    listed = await client.get(KEYS, headers=tenant.headers)
    assert listed.status_code == 200
    [entry] = listed.json()
    assert entry["id"] == created["id"]
    assert entry["prefix"] == created["prefix"]
    assert "key" not in entry
    assert key not in listed.text
    one = await client.get(f"{KEYS}{created['id']}", headers=tenant.headers)
    assert one.status_code == 200
    assert key not in one.text

    # Only a hash is stored, never the key.
    [stored] = await _stored_keys(app_engine, tenant.id)
    assert stored.secret_hash == hash_api_key(key)
    assert key.encode() not in stored.secret_hash
    assert stored.created_by == tenant.admin_id


async def test_key_authenticates_and_records_last_use(client: Client, tenant: TenantHandle) -> None:
    created = await _create_key(client, tenant, ["agent", "viewer"])
    assert created.get("last_used_at") is None
    before = dt.datetime.now(dt.UTC)

    me = await client.get(ME, headers=bearer(created["key"]))

    assert me.status_code == 200, me.text
    assert me.json()["id"] == created["id"]
    assert me.json()["scopes"] == ["agent", "viewer"]
    shown = await client.get(f"{KEYS}{created['id']}", headers=tenant.headers)
    last_used = shown.json()["last_used_at"]
    assert last_used is not None
    assert dt.datetime.fromisoformat(last_used) >= before - dt.timedelta(seconds=5)


async def test_revoked_key_is_401(client: Client, tenant: TenantHandle) -> None:
    created = await _create_key(client, tenant, ["agent"])
    assert (await client.get(ME, headers=bearer(created["key"]))).status_code == 200

    revoked = await client.delete(f"{KEYS}{created['id']}", headers=tenant.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None

    response = await client.get(ME, headers=bearer(created["key"]))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    # The record stays for the audit trail.
    listed = await client.get(KEYS, headers=tenant.headers)
    assert [k["id"] for k in listed.json()] == [created["id"]]


async def test_agent_scoped_key_is_refused_on_admin_endpoints(
    client: Client, tenant: TenantHandle
) -> None:
    created = await _create_key(client, tenant, ["agent"])
    headers = bearer(created["key"])

    for method, path, body in (
        ("GET", KEYS, None),
        ("POST", KEYS, {"name": "escalate", "scopes": ["admin"]}),
        ("DELETE", f"{KEYS}{created['id']}", None),
        ("GET", "/api/v1/users/", None),
        (
            "POST",
            "/api/v1/users/",
            {
                "email": "x@acme.example.com",
                "display_name": "X",
                "password": "long enough pw",
                "roles": ["admin"],
            },
        ),
    ):
        response = await client.request(method, path, headers=headers, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "role_required"

    # Nothing the key tried took effect.
    listed = await client.get(KEYS, headers=tenant.headers)
    assert [(k["id"], k["revoked_at"]) for k in listed.json()] == [(created["id"], None)]
    users = await client.get("/api/v1/users/", headers=tenant.headers)
    assert [u["email"] for u in users.json()] == [tenant.admin_email]


async def test_key_with_an_altered_tenant_id_is_401(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    key = (await _create_key(client, tenant, ["admin"]))["key"]
    secret = key[len("clk_") + 32 :]

    for altered in (
        f"clk_{other_tenant.id.hex}{secret}",  # another real tenant
        f"clk_{uuid.uuid4().hex}{secret}",  # no tenant at all
        f"clk_{'z' * 32}{secret}",  # not even hex
        key[:-1],  # truncated secret
    ):
        response = await client.get(ME, headers=bearer(altered))
        assert response.status_code == 401, altered
        assert response.json()["error"]["code"] == "invalid_token"


async def test_unknown_scope_is_422_and_nothing_is_written(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    for scopes in (["agent", "superuser"], []):
        response = await client.post(
            KEYS, headers=tenant.headers, json={"name": "bad", "scopes": scopes}
        )

        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert fields_of(error) == ["scopes"]

    assert await _stored_keys(app_engine, tenant.id) == []


async def test_keys_are_per_tenant(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    created = await _create_key(client, tenant, ["admin"])

    assert (await client.get(KEYS, headers=other_tenant.headers)).json() == []
    foreign = await client.get(f"{KEYS}{created['id']}", headers=other_tenant.headers)
    assert foreign.status_code == 404
    revoke = await client.delete(f"{KEYS}{created['id']}", headers=other_tenant.headers)
    assert revoke.status_code == 404
    # Still works: the other tenant could not revoke it.
    assert (await client.get(ME, headers=bearer(created["key"]))).status_code == 200
    async_count = await client.get(KEYS, headers=tenant.headers)
    assert len(async_count.json()) == 1
