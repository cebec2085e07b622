"""Helpers for the report tests: staff, cases moved through the API, and the worker's
refresh of the report facts run on the messages the outbox holds."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.queue.models import OutboxMessage
from closeloop.reports.facts import refresh
from closeloop.reports.hooks import REFRESH_ACTOR
from closeloop.reports.models import CaseFacts, ReportDaily
from support import PASSWORD, Client, TenantHandle, bearer, login, make_staff

RESOLUTION = {
    "root_cause": "Carrier delay",
    "responsible_party": "third_party",
    "third_party": "SF Express",
    "solution_type": "coupon",
    "result": "Coupon of 20 yuan sent",
}


async def staff(
    client: Client, tenant: TenantHandle, *roles: str, department_id: str | None = None
) -> tuple[uuid.UUID, dict[str, str]]:
    user_id, email = await make_staff(client, tenant, *roles, department_id=department_id)
    return user_id, bearer(await login(client, tenant.slug, email, PASSWORD))


async def department(client: Client, tenant: TenantHandle, code: str) -> str:
    response = await client.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": f"{code}-{uuid.uuid4().hex[:6]}", "name_en": code.title(), "name_zh": code},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def act(
    client: Client, headers: dict[str, str], case_id: str, action: str, body: Any = None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body or {}
    )
    assert response.status_code == 200, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def new_case(
    client: Client, tenant: TenantHandle, *, channel: str = "phone", kind: str = "complaint"
) -> str:
    created = await client.post(
        "/api/v1/cases/",
        headers=tenant.headers,
        json={
            "kind": kind,
            "channel": channel,
            "title": "Parcel arrived a week late",
            "description": "Order 8812 was promised in two days and came after a week.",
            "customer": {"nickname": "Mr Wang"},
        },
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def resolve(
    client: Client,
    tenant: TenantHandle,
    case_id: str,
    handler: tuple[uuid.UUID, dict[str, str]],
    department_id: str,
    *,
    progress_to_customer: bool = False,
) -> None:
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
    if progress_to_customer:
        await act(
            client,
            handler_headers,
            case_id,
            "progress",
            {"note": "We are on it", "visibility": "customer"},
        )
    await act(client, handler_headers, case_id, "resolve", RESOLUTION)


async def run_refreshes(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    """Do what the worker does for every pending `refresh_case_facts` message of the
    tenant (the messages are marked sent); answers how many ran."""
    factory = sessionmaker(engine)
    async with transaction(factory, tenant_id) as session:
        messages = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.actor_name == REFRESH_ACTOR, OutboxMessage.status == "pending")
                .order_by(OutboxMessage.created_at)
            )
        ).all()
        for message in messages:
            message.status = "sent"
        case_ids = [uuid.UUID(m.args["case_id"]) for m in messages]
    for case_id in case_ids:
        async with transaction(factory, tenant_id) as session:
            await refresh(session, case_id)
    return len(case_ids)


async def facts_of(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: str) -> CaseFacts | None:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return await session.get(CaseFacts, (tenant_id, uuid.UUID(case_id)))


async def rollup_of(engine: AsyncEngine, tenant_id: uuid.UUID) -> dict[tuple[Any, ...], int]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(select(ReportDaily))
        return {
            (r.day, r.measure, r.kind, r.channel, r.category, r.severity, r.department): r.n
            for r in rows
        }
