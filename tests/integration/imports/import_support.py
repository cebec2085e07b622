"""Helpers of the import tests: run an import now, count what a tenant holds."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.imports import Mapping, shipped_mapping
from closeloop.imports.models import ImportRun
from closeloop.imports.service import import_file
from closeloop.settings import Settings
from support import PASSWORD, Client, TenantHandle, bearer, login, shared_data_dir


def cfpb_path() -> Path:
    return shared_data_dir() / "cfpb" / "cfpb_combined_full_schema.csv"


async def run_import(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    source: bytes | Path,
    mapping: Mapping | str,
    *,
    file_name: str = "file.csv",
    **options: Any,
) -> ImportRun:
    if isinstance(mapping, str):
        mapping = shipped_mapping(mapping)
    return await import_file(
        factory,
        settings,
        tenant_id=tenant.id,
        actor=f"user:{tenant.admin_id}",
        source=source,
        file_name=file_name,
        mapping=mapping,
        **options,
    )


async def rows_of(
    owner_engine: AsyncEngine, tenant: TenantHandle, sql: str, **params: Any
) -> list[Any]:
    """`sql` run as the owner with `tenant` bound (RLS is forced on the owner too)."""
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        return list((await conn.execute(text(sql), params)).all())


async def count(owner_engine: AsyncEngine, tenant: TenantHandle, table: str) -> int:
    found = await rows_of(owner_engine, tenant, f'SELECT count(*) FROM "{table}"')
    return int(found[0][0])


async def user_headers(client: Client, tenant: TenantHandle, role: str) -> dict[str, str]:
    """A new user of `tenant` with `role`, logged in."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    body = {"email": email, "display_name": role, "password": PASSWORD, "roles": [role]}
    response = await client.post("/api/v1/users/", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    return bearer(await login(client, tenant.slug, email))
