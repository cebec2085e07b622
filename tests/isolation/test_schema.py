"""Every tenant table is isolated by construction: walk the live schema, not a list.

A table is a tenant table when it has a `tenant_id` column. Tables without one are
platform tables and must be named in PLATFORM_TABLES, so a new table can never
slip through unnoticed.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import Base, TenantOwned
from closeloop.models import load_all_models

PLATFORM_TABLES = {
    "tenants",
    "alembic_version",
    # When each periodic sweep last fanned out to the tenants: sweep names and times only.
    "scheduled_runs",
}


async def _tables(engine: AsyncEngine) -> dict[str, dict[str, object]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    """
                    SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                           EXISTS (SELECT 1 FROM information_schema.columns col
                                   WHERE col.table_schema = 'public' AND col.table_name = c.relname
                                     AND col.column_name = 'tenant_id') AS has_tenant,
                           (SELECT array_agg(a.attname::text ORDER BY k.ord)
                              FROM pg_constraint pk
                              CROSS JOIN LATERAL unnest(pk.conkey) WITH ORDINALITY AS k(attnum, ord)
                              JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                             WHERE pk.conrelid = c.oid AND pk.contype = 'p') AS pk_columns,
                           (SELECT array_agg(pg_get_expr(p.polqual, p.polrelid))
                              FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
                    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                    """
                )
            )
        ).all()
    return {
        row.relname: {
            "rls": row.relrowsecurity,
            "forced": row.relforcerowsecurity,
            "has_tenant": row.has_tenant,
            "pk": list(row.pk_columns or []),
            "policies": list(row.policies or []),
        }
        for row in rows
    }


async def test_every_tenant_table_has_tenant_key_and_forced_rls(owner_engine: AsyncEngine) -> None:
    tables = await _tables(owner_engine)
    tenant_tables = {name for name, info in tables.items() if info["has_tenant"]}
    assert tenant_tables, "no tenant tables found: the schema walk is broken"
    unexplained = set(tables) - tenant_tables - PLATFORM_TABLES
    assert not unexplained, (
        f"tables without tenant_id that are not declared platform tables: {unexplained}"
    )
    problems = []
    for name in sorted(tenant_tables):
        info = tables[name]
        if "tenant_id" not in info["pk"]:  # type: ignore[operator]
            problems.append(f"{name}: tenant_id not in primary key {info['pk']}")
        if not info["rls"]:
            problems.append(f"{name}: row level security not enabled")
        if not info["forced"]:
            problems.append(f"{name}: row level security not forced")
        if not any("app.tenant_id" in (p or "") for p in info["policies"]):  # type: ignore[union-attr]
            problems.append(f"{name}: no policy on current_setting('app.tenant_id')")
    assert not problems, "\n".join(problems)


async def test_foreign_keys_and_unique_constraints_include_tenant(
    owner_engine: AsyncEngine,
) -> None:
    async with owner_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    """
                    SELECT c.conname, c.contype, t.relname,
                           array_agg(a.attname::text) AS columns,
                           EXISTS (SELECT 1 FROM information_schema.columns col
                                   WHERE col.table_schema = 'public' AND col.table_name = t.relname
                                     AND col.column_name = 'tenant_id') AS tenant_table
                    FROM pg_constraint c
                    JOIN pg_class t ON t.oid = c.conrelid
                    JOIN pg_namespace n ON n.oid = t.relnamespace
                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (c.conkey)
                    WHERE n.nspname = 'public' AND c.contype IN ('f', 'u')
                    GROUP BY c.conname, c.contype, t.relname
                    """
                )
            )
        ).all()
    problems = [
        f"{row.relname}.{row.conname}: {row.columns} lacks tenant_id"
        for row in rows
        if row.tenant_table and "tenant_id" not in row.columns
    ]
    assert rows, "no constraints found: the schema walk is broken"
    assert not problems, "\n".join(problems)


async def test_models_and_schema_agree_on_tenant_tables(owner_engine: AsyncEngine) -> None:
    load_all_models()
    modelled = {
        mapper.local_table.name  # type: ignore[union-attr]
        for mapper in Base.registry.mappers
        if issubclass(mapper.class_, TenantOwned)
    }
    tables = await _tables(owner_engine)
    in_schema = {name for name, info in tables.items() if info["has_tenant"]}
    assert modelled == in_schema


async def test_application_role_cannot_escape_rls(app_engine: AsyncEngine) -> None:
    async with app_engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT rolsuper, rolbypassrls, "
                    "(SELECT count(*) FROM pg_class WHERE relowner = r.oid "
                    " AND relnamespace = 'public'::regnamespace) AS owned "
                    "FROM pg_roles r WHERE rolname = current_user"
                )
            )
        ).one()
    assert (row.rolsuper, row.rolbypassrls, row.owned) == (False, False, 0)
