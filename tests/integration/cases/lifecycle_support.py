"""Helpers for the lifecycle tests: staff users, departments, and cases put in a status.

Cases made here are written straight into the tenant's tables as the application role
in a tenant-bound transaction (RLS applies); the full run goes through intake instead.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.cases.lifecycle import Action
from closeloop.cases.models import Case
from closeloop.config.models import Department, Severity
from closeloop.db import new_id, sessionmaker, transaction, utcnow
from closeloop.settings import Settings
from closeloop.web.app import create_app
from support import PASSWORD, Client, TenantHandle, bearer, login


async def make_user(
    client: Client, tenant: TenantHandle, *roles: str
) -> tuple[uuid.UUID, dict[str, str]]:
    """A new user of `tenant` with `roles`, logged in: (id, headers)."""
    email = f"{'-'.join(roles)}-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": email, "password": PASSWORD, "roles": list(roles)},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"]), bearer(await login(client, tenant.slug, email))


async def make_department(engine: AsyncEngine, tenant_id: uuid.UUID, code: str) -> uuid.UUID:
    """The tenant's department `code`: one of a new tenant's defaults (`logistics`, ...)
    or else a new one."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        found = await session.scalar(select(Department.id).where(Department.code == code))
        if found is not None:
            return found
        department = Department(
            tenant_id=tenant_id, id=new_id(), code=code, name_zh=code, name_en=code, active=True
        )
        session.add(department)
    return department.id


async def severity_id(engine: AsyncEngine, tenant_id: uuid.UUID, code: str) -> uuid.UUID:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        found = await session.scalar(select(Severity.id).where(Severity.code == code))
    assert found is not None, f"tenant has no severity {code!r}"
    return found


async def insert_case(
    engine: AsyncEngine, tenant_id: uuid.UUID, *, status: str = "registered", **fields: Any
) -> uuid.UUID:
    """A case of `tenant_id` in `status`, with `fields` set as given."""
    case_id = new_id()
    values: dict[str, Any] = {
        "number": f"T-{case_id.hex[:12]}",
        "kind": "complaint",
        "status": status,
        "channel": "phone",
        "received_at": utcnow(),
        "title": "Parcel arrived late",
        "description": "The parcel came a week after the promised date.",
        "search": func.to_tsvector("simple", "parcel late"),
        **fields,
    }
    async with transaction(sessionmaker(engine), tenant_id) as session:
        session.add(Case(tenant_id=tenant_id, id=case_id, **values))
    return case_id


async def set_case(
    engine: AsyncEngine, tenant_id: uuid.UUID, case_id: uuid.UUID, **fields: Any
) -> None:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        await session.execute(update(Case).where(Case.id == case_id).values(**fields))


async def read_case(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: uuid.UUID) -> Case:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        case = await session.get(Case, (tenant_id, case_id))
    assert case is not None
    return case


def valid_bodies(
    department_id: uuid.UUID, handler_id: uuid.UUID, merge_into: uuid.UUID | None = None
) -> dict[Action, dict[str, Any]]:
    """A body every action accepts (so a refusal is about status or role, not the body);
    `merge` needs a case to merge into to go through."""
    return {
        Action.VERIFY: {"valid": True},
        Action.INVALIDATE: {"explanation": "Not a complaint about our service."},
        Action.REQUEST_INFO: {"question": "Which order number?"},
        Action.RESUME: {},
        Action.ASSIGN: {"lead_department_id": str(department_id), "handler_id": str(handler_id)},
        Action.START: {},
        Action.PROGRESS: {"note": "Called the carrier."},
        Action.RESOLVE: {
            "root_cause": "Carrier delay",
            "responsible_party": "third_party",
            "third_party": "SF Express",
            "solution_type": "coupon",
            "result": "Coupon of 20 yuan sent",
        },
        Action.FEEDBACK: {"satisfaction": "satisfied"},
        Action.SCHEDULE_FOLLOWUP: {},
        Action.FOLLOWUP: {"outcome": "resolved_satisfied"},
        Action.REOPEN: {"reason": "Customer called again"},
        Action.ARCHIVE: {},
        Action.ANNOTATE: {"note": "For the record."},
        Action.MERGE: {"into": str(merge_into or uuid.UUID(int=0))},
    }


def action_url(case_id: uuid.UUID | str, action: str) -> str:
    return f"/api/v1/cases/{case_id}/actions/{action}"


@contextlib.asynccontextmanager
async def concurrent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really overlap: the app runs on the test's own event loop.

    (Litestar's test client hands each request to a portal thread one at a time, so
    `asyncio.gather` over it never runs two requests at once.)
    """
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
