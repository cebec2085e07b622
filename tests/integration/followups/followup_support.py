"""Helpers for the follow-up tests: staff, and cases put in `resolved` either through the
API or written straight into the tenant's tables (with a chosen resolution time)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.cases.models import Case
from closeloop.db import new_id, sessionmaker, transaction, utcnow
from closeloop.followups.models import FollowupTask
from support import PASSWORD, Client, TenantHandle, bearer, login

RESOLUTION = {
    "root_cause": "Carrier delay",
    "responsible_party": "third_party",
    "third_party": "SF Express",
    "solution_type": "coupon",
    "result": "Coupon of 20 yuan sent",
}


async def make_user(
    client: Client, tenant: TenantHandle, *roles: str
) -> tuple[uuid.UUID, dict[str, str]]:
    email = f"{'-'.join(roles)}-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": email, "password": PASSWORD, "roles": list(roles)},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"]), bearer(await login(client, tenant.slug, email))


async def act(
    client: Client,
    headers: dict[str, str],
    case_id: str,
    action: str,
    body: Any = None,
    status: int = 200,
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body or {}
    )
    assert response.status_code == status, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def department(client: Client, tenant: TenantHandle) -> str:
    response = await client.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": f"d-{uuid.uuid4().hex[:6]}", "name_en": "Logistics"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def resolved_case(
    client: Client,
    tenant: TenantHandle,
    handler: tuple[uuid.UUID, dict[str, str]],
    department_id: str,
) -> str:
    """A complaint taken in, assigned to `handler`, worked on and resolved, via the API."""
    created = await client.post(
        "/api/v1/cases/",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "Parcel arrived a week late",
            "description": "Order 8812 was promised in two days and came after a week.",
            "customer": {"nickname": "Mr Wang"},
        },
    )
    assert created.status_code == 201, created.text
    case_id = str(created.json()["id"])
    handler_id, handler_headers = handler
    await act(client, tenant.headers, case_id, "verify", {"valid": True})
    await act(
        client,
        tenant.headers,
        case_id,
        "assign",
        {"lead_department_id": department_id, "handler_id": str(handler_id)},
    )
    await act(client, handler_headers, case_id, "start")
    await act(client, handler_headers, case_id, "resolve", RESOLUTION)
    return case_id


async def insert_resolved_case(engine: AsyncEngine, tenant_id: uuid.UUID, **fields: Any) -> str:
    """A case of `tenant_id` already `resolved` (at `resolved_at`, default now)."""
    case_id = new_id()
    values: dict[str, Any] = {
        "number": f"T-{case_id.hex[:12]}",
        "kind": "complaint",
        "status": "resolved",
        "channel": "phone",
        "received_at": utcnow(),
        "title": "Parcel arrived late",
        "description": "The parcel came a week after the promised date.",
        "search": func.to_tsvector("simple", "parcel late"),
        "resolved_at": utcnow(),
        "resolution": RESOLUTION,
        **fields,
    }
    async with transaction(sessionmaker(engine), tenant_id) as session:
        session.add(Case(tenant_id=tenant_id, id=case_id, **values))
    return str(case_id)


async def tasks_of(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: str) -> list[FollowupTask]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(FollowupTask)
            .where(FollowupTask.case_id == uuid.UUID(case_id))
            .order_by(FollowupTask.created_at)
        )
        return list(rows.all())


async def queue(
    client: Client, headers: dict[str, str], expect: int = 200, **params: str
) -> list[dict[str, Any]]:
    """The caller's follow-ups (`params` are the list's filters)."""
    response = await client.get("/api/v1/followups/", headers=headers, params=params)
    assert response.status_code == expect, response.text
    if expect != 200:
        return []
    items: list[dict[str, Any]] = response.json()["items"]
    return items
