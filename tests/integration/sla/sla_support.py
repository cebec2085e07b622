"""Helpers for the SLA tests: lifecycle actions at a chosen time, clocks, SLA history,
notifications and timeline events, all read as the application role under RLS."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.cases.action_schemas import decode_body
from closeloop.cases.deps import provide_case_actions
from closeloop.cases.lifecycle import Action
from closeloop.cases.models import Case, CaseEvent
from closeloop.db import sessionmaker, transaction
from closeloop.identity.principal import Principal
from closeloop.notify.models import Notification
from closeloop.settings import Settings
from closeloop.sla.models import SlaClock, SlaClockEvent
from closeloop.sla.sweep import SweepReport, sweep_due
from support import Client, TenantHandle

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def local(*args: int) -> dt.datetime:
    """A wall time in Asia/Shanghai (the tenants' zone and calendar)."""
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def admin(tenant: TenantHandle) -> Principal:
    return Principal(
        tenant_id=tenant.id,
        roles=frozenset({"admin"}),
        permissions=frozenset(),
        user_id=tenant.admin_id,
    )


async def act(
    engine: AsyncEngine,
    tenant: TenantHandle,
    case_id: uuid.UUID | str,
    action: str,
    body: dict[str, Any] | None = None,
    *,
    at: dt.datetime,
    settings: Settings,
) -> Case:
    """Take a lifecycle action as the tenant's admin, dated `at`."""
    chosen = Action(action)
    async with transaction(sessionmaker(engine), tenant.id) as session:
        case, _ = await provide_case_actions(session, admin(tenant), settings).apply(
            uuid.UUID(str(case_id)), chosen, decode_body(chosen, body or {}), now=at
        )
    return case


async def clocks(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: Any) -> list[SlaClock]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(SlaClock)
            .where(SlaClock.case_id == uuid.UUID(str(case_id)))
            .order_by(SlaClock.cycle, SlaClock.target)
        )
        return list(rows.all())


def clock(rows: list[SlaClock], target: str, cycle: int | None = None) -> SlaClock:
    found = [c for c in rows if c.target == target and (cycle is None or c.cycle == cycle)]
    assert found, f"no {target} clock (cycle {cycle}) among {[(c.cycle, c.target) for c in rows]}"
    return found[-1]


async def clock_events(
    engine: AsyncEngine, tenant_id: uuid.UUID, case_id: Any
) -> list[SlaClockEvent]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(SlaClockEvent)
            .where(SlaClockEvent.case_id == uuid.UUID(str(case_id)))
            .order_by(SlaClockEvent.at, SlaClockEvent.created_at)
        )
        return list(rows.all())


async def timeline(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: Any) -> list[CaseEvent]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == uuid.UUID(str(case_id)))
            .order_by(CaseEvent.created_at)
        )
        return list(rows.all())


async def notifications(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Notification]:
    """The tenant's staff inbox notifications (one per recipient and event)."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        rows = await session.scalars(
            select(Notification)
            .where(Notification.channel == "inbox")
            .order_by(Notification.created_at)
        )
        return list(rows.all())


async def read_case(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: Any) -> Case:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        case = await session.get(Case, (tenant_id, uuid.UUID(str(case_id))))
    assert case is not None
    return case


async def rewind_checks(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: Any) -> None:
    """Put every clock of the case up for checking again, as a lost update would."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        await session.execute(
            update(SlaClock)
            .where(SlaClock.case_id == uuid.UUID(str(case_id)), SlaClock.state != "stopped")
            .values(next_check_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        )


async def sweep(engine: AsyncEngine, now: dt.datetime) -> SweepReport:
    return await sweep_due(sessionmaker(engine), now=now)


async def case_sla(client: Client, headers: dict[str, str], case_id: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/cases/{case_id}/sla", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def at_minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)
