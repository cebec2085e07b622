"""Row-level security seen through raw SQL as the application role.

These tests bypass the ORM's tenant filter on purpose: they prove the database
itself keeps tenants apart when application code forgets to.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import Base, TenantOwned
from closeloop.models import load_all_models
from support import TenantHandle


def _tenant_tables() -> list[str]:
    load_all_models()
    return sorted(
        mapper.local_table.name  # type: ignore[union-attr]
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    )


async def _count(engine: AsyncEngine, table: str, tenant_id: uuid.UUID | None) -> int:
    async with engine.begin() as conn:
        if tenant_id is not None:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
        return int((await conn.execute(text(f'SELECT count(*) FROM "{table}"'))).scalar_one())


@pytest.mark.parametrize("table", _tenant_tables())
async def test_no_rows_without_a_tenant(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle, table: str
) -> None:
    assert await _count(app_engine, table, None) == 0


async def test_each_tenant_sees_only_its_own_users(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    async with app_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        rows = (await conn.execute(text("SELECT tenant_id, email FROM users"))).all()
    assert [(r.tenant_id, r.email) for r in rows] == [(tenant.id, tenant.admin_email)]


async def test_the_tenant_setting_ends_with_the_transaction(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with app_engine.connect() as conn:
        async with conn.begin():
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
            )
            assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one() == 1
        async with conn.begin():
            assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0


async def test_writing_a_row_for_another_tenant_is_refused(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    with pytest.raises(DBAPIError) as caught:
        async with app_engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
            )
            await conn.execute(
                text(
                    "INSERT INTO users (tenant_id, id, email, display_name, password_hash, roles,"
                    " permissions, active) VALUES (:tenant, :id, 'intruder@x.example', 'x', 'x',"
                    " '{admin}', '{}', true)"
                ),
                {"tenant": other_tenant.id, "id": uuid.uuid4()},
            )
    assert isinstance(caught.value.orig.__cause__, asyncpg.InsufficientPrivilegeError)  # type: ignore[union-attr]
    assert await _count(app_engine, "users", other_tenant.id) == 1


async def test_updating_or_deleting_another_tenants_rows_touches_nothing(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    async with app_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        updated = await conn.execute(
            text("UPDATE users SET display_name = 'hijacked' WHERE tenant_id = :other"),
            {"other": other_tenant.id},
        )
        deleted = await conn.execute(
            text("DELETE FROM users WHERE tenant_id = :other"), {"other": other_tenant.id}
        )
    assert (updated.rowcount, deleted.rowcount) == (0, 0)
    assert await _count(app_engine, "users", other_tenant.id) == 1


async def test_moving_a_row_into_another_tenant_is_refused(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    with pytest.raises(DBAPIError):
        async with app_engine.begin() as conn:
            await conn.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
            )
            await conn.execute(
                text("UPDATE users SET tenant_id = :other"), {"other": other_tenant.id}
            )
    assert await _count(app_engine, "users", tenant.id) == 1
