"""Helpers for the survey tests: a case driven to `resolved` through the API, and the
survey link read back from the notification that carried it."""

from __future__ import annotations

import dataclasses
import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.notify.models import Notification
from closeloop.surveys.models import Survey
from support import PASSWORD, Client, TenantHandle, bearer, login

LINK = re.compile(r"(https://support\.example\.com/public/surveys/([A-Za-z0-9_-]+))")
RESOLUTION = {
    "root_cause": "快递中转延误",
    "responsible_party": "third_party",
    "third_party": "某快递",
    "solution_type": "coupon",
    "result": "补偿 20 元优惠券",
}


@dataclasses.dataclass
class ResolvedCase:
    id: str
    number: str
    handler_id: uuid.UUID
    handler: dict[str, str]
    department_id: str


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
    client: Client, headers: dict[str, str], case_id: str, action: str, body: Any = None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body or {}
    )
    assert response.status_code == 200, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def resolved_case(
    client: Client, tenant: TenantHandle, *, locale: str = "zh-CN", email: str | None = None
) -> ResolvedCase:
    """A complaint filed by phone, verified, assigned, worked on and resolved."""
    department = await client.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": f"d-{uuid.uuid4().hex[:6]}", "name_en": "Logistics"},
    )
    assert department.status_code == 201, department.text
    department_id = department.json()["id"]
    handler_id, handler = await make_user(client, tenant, "handler")
    created = await client.post(
        "/api/v1/cases/",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "快递延误一周",
            "description": "订单 8812 承诺两天送达，一周后才收到。",
            "customer": {
                "nickname": "王先生",
                "email": email or f"customer-{uuid.uuid4().hex[:6]}@example.com",
                "locale": locale,
            },
        },
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    await act(client, tenant.headers, case_id, "verify", {"valid": True})
    await act(
        client,
        tenant.headers,
        case_id,
        "assign",
        {"lead_department_id": department_id, "handler_id": str(handler_id)},
    )
    await act(client, handler, case_id, "start")
    await act(client, handler, case_id, "resolve", RESOLUTION)
    return ResolvedCase(case_id, created.json()["number"], handler_id, handler, department_id)


async def survey_notifications(
    engine: AsyncEngine, tenant_id: uuid.UUID, case_id: str
) -> list[Notification]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(Notification)
            .where(
                Notification.case_id == uuid.UUID(case_id),
                Notification.event == "satisfaction_survey",
            )
            .order_by(Notification.created_at)
        )
        return list(rows.all())


async def surveys_of(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: str) -> list[Survey]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(Survey).where(Survey.case_id == uuid.UUID(case_id)).order_by(Survey.cycle)
        )
        return list(rows.all())


async def survey_link(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: str) -> tuple[str, str]:
    """`(url, token)` of the latest survey e-mail sent for the case."""
    notifications = [
        n for n in await survey_notifications(engine, tenant_id, case_id) if n.channel == "email"
    ]
    assert notifications, "no satisfaction_survey e-mail was made"
    found = LINK.search(notifications[-1].body)
    assert found, notifications[-1].body
    return found.group(1), found.group(2)


def path_of(token: str) -> str:
    return f"/public/surveys/{token}"
