"""A statement is planned for the table as it is when it runs, not as it was when the
connection first ran it: a lookup by id cached while the table was nearly empty (where
every index starting with tenant_id looks as good as the primary key) still uses the
primary key once the tenant has thousands of rows."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import TenantHandle

LOOKUP = "PREPARE by_id(uuid, uuid) AS SELECT id FROM customers WHERE tenant_id = $1 AND id = $2"


def _index_conditions(plan: Any) -> list[str]:
    node = plan[0]["Plan"]
    found = []
    while node is not None:
        if "Index Cond" in node:
            found.append(node["Index Cond"])
        node = (node.get("Plans") or [None])[0]
    return found


async def test_a_lookup_first_run_on_an_empty_table_uses_the_primary_key_once_it_grew(
    app_engine: AsyncEngine, owner_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    tenant_id = str(tenant.id)
    async with app_engine.connect() as conn:
        await conn.execute(text("SELECT set_config('app.tenant_id', :t, false)"), {"t": tenant_id})
        await conn.execute(text(LOOKUP))
        for _ in range(10):  # the point past which PostgreSQL may keep a generic plan
            await conn.execute(text(f"EXECUTE by_id('{tenant_id}', gen_random_uuid())"))
        async with owner_engine.begin() as owner:
            await owner.execute(
                text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id}
            )
            await owner.execute(
                text(
                    "INSERT INTO customers (tenant_id, id, nickname, phone_hash, email_hash) "
                    "SELECT :t, gen_random_uuid(), 'c' || g, sha256(g::text::bytea), "
                    "sha256(('e' || g)::bytea) FROM generate_series(1, 5000) g"
                ),
                {"t": tenant_id},
            )
        explained = await conn.execute(
            text(f"EXPLAIN (FORMAT JSON) EXECUTE by_id('{tenant_id}', gen_random_uuid())")
        )
        plan = explained.scalar_one()
        await conn.execute(text("DEALLOCATE by_id"))
        await conn.rollback()
    conditions = _index_conditions(plan if isinstance(plan, list) else json.loads(plan))
    assert conditions, plan
    assert all("(id = " in condition for condition in conditions), plan
