"""The tenant configuration cache (closeloop.config.current): used while the tenant's
`config_version` stands, dropped by any change, from the API or behind the app's back."""

from __future__ import annotations

from case_support import intake_body, make_user
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.config import current
from closeloop.config.models import Channel
from closeloop.db import sessionmaker, tenant_scope, transaction
from support import Client, TenantHandle, fields_of, sql_statements

CONFIG_TABLES = (
    "tenant_profiles",
    "channels",
    "demand_types",
    "severities",
    "tenant_plugins",
    "sla_policies",
    "sla_escalation_levels",
    "calendars",
    "notification_templates",
    "webhook_endpoints",
    "tenant_keys",
)


def config_reads(seen: list[str]) -> list[str]:
    return [
        s
        for s in seen
        if s.startswith("SELECT") and any(f" FROM {t} " in s + " " for t in CONFIG_TABLES)
    ]


async def _version(owner_engine: AsyncEngine, tenant: TenantHandle) -> int:
    async with owner_engine.begin() as conn:
        found = await conn.execute(
            text("SELECT config_version FROM tenants WHERE id = :t"), {"t": str(tenant.id)}
        )
        return int(found.scalar_one())


async def test_a_warm_intake_reads_no_configuration(client: Client, tenant: TenantHandle) -> None:
    _, agent = await make_user(client, tenant, "agent")
    for title in ("一", "二"):  # the first one also creates the tenant's data key
        response = await client.post("/api/v1/cases", headers=agent, json=intake_body(title=title))
        assert response.status_code == 201, response.text
    with sql_statements() as seen:
        response = await client.post("/api/v1/cases", headers=agent, json=intake_body(title="三"))
    assert response.status_code == 201, response.text
    assert config_reads(seen) == []
    # (the case goes in with its other new rows, in one WITH ... INSERT statement)
    assert any('INSERT INTO "cases"' in s for s in seen)


async def test_a_change_through_the_api_is_seen_by_the_next_intake(
    client: Client, tenant: TenantHandle
) -> None:
    _, agent = await make_user(client, tenant, "agent")
    assert (
        await client.post("/api/v1/cases", headers=agent, json=intake_body())
    ).status_code == 201
    channels = (await client.get("/api/v1/channels", headers=tenant.headers)).json()
    items = channels["items"] if isinstance(channels, dict) else channels
    phone = next(c for c in items if c["code"] == "phone")
    changed = await client.patch(
        f"/api/v1/channels/{phone['id']}", headers=tenant.headers, json={"active": False}
    )
    assert changed.status_code == 200, changed.text
    refused = await client.post("/api/v1/cases", headers=agent, json=intake_body())
    assert refused.status_code == 422, refused.text
    assert fields_of(refused.json()["error"]) == ["channel"]


async def test_a_change_behind_the_apps_back_bumps_the_version(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    """Another app process (here: the owner role directly) changes a channel: the
    trigger bumps the tenant's version, so this process drops its cached copy."""
    _, agent = await make_user(client, tenant, "agent")
    assert (
        await client.post("/api/v1/cases", headers=agent, json=intake_body())
    ).status_code == 201
    before = await _version(owner_engine, tenant)
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(text("UPDATE channels SET active = false WHERE code = 'phone'"))
    assert await _version(owner_engine, tenant) == before + 1
    refused = await client.post("/api/v1/cases", headers=agent, json=intake_body())
    assert refused.status_code == 422, refused.text


async def test_a_transaction_sees_its_own_change(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    async with sessionmaker(app_engine)() as session:
        await session.begin()
        await tenant_scope(session, tenant.id)
        cached = next(c for c in await current.channels(session) if c.code == "phone")
        phone_id = cached.id
        phone = await session.get(Channel, (tenant.id, phone_id))
        assert phone is not None
        phone.active = False
        await session.flush()
        assert "phone" not in [c.code for c in await current.channels(session)]
        await session.rollback()
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        assert "phone" in [c.code for c in await current.channels(session)]
        row = await session.get(Channel, (tenant.id, phone_id))
        assert row is not None
        assert row.active


async def test_a_user_deactivated_behind_the_apps_back_is_refused_at_once(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    """Authentication caches the user under the same version: a deactivation made
    elsewhere takes effect on the very next request."""
    user_id, agent = await make_user(client, tenant, "agent")
    assert (await client.get("/api/v1/cases", headers=agent)).status_code == 200
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(
            text("UPDATE users SET active = false WHERE id = :u"), {"u": str(user_id)}
        )
    refused = await client.get("/api/v1/cases", headers=agent)
    assert refused.status_code == 401, refused.text
