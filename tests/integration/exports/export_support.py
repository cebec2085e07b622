"""Helpers for the export tests: many cases at once, and the audit entries of a tenant."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle

SCOPE = text("SELECT set_config('app.tenant_id', :t, true)")

# Columns a copy of a case must not share with the case it copies (unique per tenant).
_DISTINCT = {
    "id": "gen_random_uuid()",
    "number": "number || '-' || n",
    "external_id": "NULL",
    "idempotency_key": "NULL",
    "received_at": "received_at - n * interval '1 second'",
}


async def copy_case(owner: AsyncEngine, tenant_id: uuid.UUID, case_id: str, copies: int) -> None:
    """`copies` more cases like `case_id` (numbered `<number>-<n>`, each received a
    second earlier), written straight into the table as the owner: the API would take
    minutes for tens of thousands."""
    async with owner.begin() as conn:
        await conn.execute(SCOPE, {"t": str(tenant_id)})
        columns = (
            await conn.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = 'cases' AND table_schema = current_schema() "
                    "AND is_generated = 'NEVER' ORDER BY ordinal_position"
                )
            )
        ).scalars()
        names = list(columns)
        chosen = ", ".join(_DISTINCT.get(name, name) for name in names)
        await conn.execute(
            text(
                f"INSERT INTO cases ({', '.join(names)}) "
                f"SELECT {chosen} FROM cases, generate_series(1, :copies) AS n "
                "WHERE id = CAST(:case_id AS uuid)"
            ),
            {"copies": copies, "case_id": case_id},
        )


async def audit_actions(client: Client, tenant: TenantHandle) -> list[dict[str, Any]]:
    """The tenant's audit entries, newest first (as its admin reads them)."""
    response = await client.get("/api/v1/audit", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
