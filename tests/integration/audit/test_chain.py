"""The audit chain on the real database: append-only for the app, tampering found by verify.

Tampering is done as the OWNER role (the only one allowed to change entries); row-level
security is forced on the owner too, so each tampering transaction binds the tenant.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.settings import Settings
from support import PASSWORD, Client, TenantHandle, run_cli


async def _add_users(client: Client, tenant: TenantHandle, count: int) -> None:
    for n in range(count):
        response = await client.post(
            "/api/v1/users/",
            headers=tenant.headers,
            json={
                "email": f"user{n}@{tenant.slug}.example.com",
                "display_name": f"User {n}",
                "password": PASSWORD,
                "roles": ["agent"],
            },
        )
        assert response.status_code == 201, response.text


async def _owner(owner_engine: AsyncEngine, tenant: TenantHandle, *statements: str) -> None:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        for statement in statements:
            await conn.execute(text(statement), {"t": str(tenant.id)})


async def _entry_id(owner_engine: AsyncEngine, tenant: TenantHandle, seq: int) -> str:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        found = await conn.scalar(
            text("SELECT id FROM audit_entries WHERE tenant_id = :t AND seq = :s"),
            {"t": str(tenant.id), "s": seq},
        )
    return str(found)


async def _verify_api(client: Client, tenant: TenantHandle) -> dict[str, Any]:
    response = await client.get("/api/v1/audit/verify", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _verify_cli(settings: Settings, slug: str) -> tuple[int, str]:
    return await run_cli(settings, "audit", "verify", slug)


@pytest.mark.parametrize("statement", ["UPDATE", "DELETE", "TRUNCATE"])
async def test_the_app_role_cannot_change_or_remove_entries(
    app_engine: AsyncEngine, client: Client, tenant: TenantHandle, statement: str
) -> None:
    sql = {
        "UPDATE": "UPDATE audit_entries SET after = '{}'::jsonb",
        "DELETE": "DELETE FROM audit_entries",
        "TRUNCATE": "TRUNCATE audit_entries",
    }[statement]
    async with app_engine.connect() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text(sql))
        await conn.rollback()
    assert (await _verify_api(client, tenant))["ok"] is True


async def test_an_untouched_chain_verifies(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    await _add_users(client, tenant, 3)
    report = await _verify_api(client, tenant)
    assert report["ok"] is True
    assert report["entries"] >= 4  # the first admin and three users
    assert report["broken_at_seq"] is None
    code, output = await _verify_cli(settings, tenant.slug)
    assert code == 0, output
    assert "ok" in output


async def test_an_altered_entry_is_named(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine, settings: Settings
) -> None:
    await _add_users(client, tenant, 4)
    target = await _entry_id(owner_engine, tenant, 3)
    await _owner(
        owner_engine,
        tenant,
        "UPDATE audit_entries SET after = jsonb_set(after, '{roles}', '[\"admin\"]')"
        " WHERE tenant_id = :t AND seq = 3",
    )
    report = await _verify_api(client, tenant)
    assert report["ok"] is False
    assert report["broken_at_seq"] == 3
    assert report["entry_id"] == target
    assert report["entries"] == 2
    assert "altered" in report["reason"]
    code, output = await _verify_cli(settings, tenant.slug)
    assert code == 1
    assert "seq 3" in output
    assert target in output


async def test_a_removed_entry_is_named(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine, settings: Settings
) -> None:
    await _add_users(client, tenant, 4)
    await _owner(owner_engine, tenant, "DELETE FROM audit_entries WHERE tenant_id = :t AND seq = 2")
    report = await _verify_api(client, tenant)
    assert report["ok"] is False
    assert report["broken_at_seq"] == 2
    assert "missing" in report["reason"]
    code, output = await _verify_cli(settings, tenant.slug)
    assert code == 1
    assert "seq 2" in output


async def test_swapped_contents_are_named_at_the_first_of_the_two(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine, settings: Settings
) -> None:
    await _add_users(client, tenant, 4)
    first = await _entry_id(owner_engine, tenant, 2)
    columns = "at, actor, action, entity_type, entity_id, before, after"
    await _owner(
        owner_engine,
        tenant,
        f"UPDATE audit_entries a SET ({columns}) = (SELECT {columns} FROM audit_entries b"
        "  WHERE b.tenant_id = a.tenant_id AND b.seq = CASE a.seq WHEN 2 THEN 4 ELSE 2 END)"
        " WHERE a.tenant_id = :t AND a.seq IN (2, 4)",
    )
    report = await _verify_api(client, tenant)
    assert (report["ok"], report["broken_at_seq"], report["entry_id"]) == (False, 2, first)
    code, output = await _verify_cli(settings, tenant.slug)
    assert code == 1
    assert first in output


async def test_reordered_entries_are_named(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    """Two whole entries trade places (seq numbers swapped): the chain no longer links."""
    await _add_users(client, tenant, 4)
    moved = await _entry_id(owner_engine, tenant, 4)
    await _owner(
        owner_engine,
        tenant,
        "UPDATE audit_entries SET seq = -seq WHERE tenant_id = :t AND seq IN (2, 4)",
        "UPDATE audit_entries SET seq = CASE seq WHEN -2 THEN 4 ELSE 2 END"
        " WHERE tenant_id = :t AND seq IN (-2, -4)",
    )
    report = await _verify_api(client, tenant)
    assert (report["ok"], report["broken_at_seq"], report["entry_id"]) == (False, 2, moved)
    assert "does not follow" in report["reason"]


async def test_concurrent_writers_keep_the_chain_intact(
    client: Client, tenant: TenantHandle
) -> None:
    async def create(n: int) -> int:
        response = await client.post(
            "/api/v1/users/",
            headers=tenant.headers,
            json={
                "email": f"parallel{n}@{tenant.slug}.example.com",
                "display_name": f"Parallel {n}",
                "password": PASSWORD,
                "roles": ["agent"],
            },
        )
        return response.status_code

    codes = await asyncio.gather(*(create(n) for n in range(20)))
    assert codes == [201] * 20
    report = await _verify_api(client, tenant)
    assert report["ok"] is True, report
    listing = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"action": "user.create", "limit": 500}
    )
    created = [e for e in listing.json()["items"] if e["after"]["email"].startswith("parallel")]
    assert len(created) == 20
    assert len({uuid.UUID(e["id"]) for e in created}) == 20
