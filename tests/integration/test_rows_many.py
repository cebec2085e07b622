"""`closeloop.rows.insert_many`: many rows in one `unnest` statement, stored exactly as
`insert()` stores them, inside the tenant boundary, and not attached to the session."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import rows
from closeloop.cases.models import CaseEvent
from closeloop.db import TenantMismatch, TenantNotBound, new_id, sessionmaker, transaction
from closeloop.sla.models import SlaClock
from support import Client, TenantHandle

# Array elements PostgreSQL's array text form must quote or escape.
_AWKWARD = ['say "hi"', "back\\slash", "", "二〇二六", "a,b", "{braces}", "NULL", " padded "]


async def _case_id(client: Client, tenant: TenantHandle) -> uuid.UUID:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={"kind": "complaint", "channel": "phone", "title": "漏水", "description": "水壶漏水"},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def _event(case_id: uuid.UUID, type: str, **values: object) -> CaseEvent:
    return rows.new(CaseEvent, id=new_id(), case_id=case_id, type=type, actor="test", **values)


def _clock(case_id: uuid.UUID, target: str, fired: list[str]) -> SlaClock:
    at = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC)
    return rows.new(
        SlaClock,
        id=new_id(),
        case_id=case_id,
        target=target,  # the case's own clocks have the usual targets
        unit="hours",
        spec={"nested": {"list": [1, "二"]}, "none": None},
        state="stopped",
        started_at=at,
        due_at=at + dt.timedelta(hours=8),
        span_seconds=8 * 3600,
        stopped_at=at + dt.timedelta(hours=9),
        fired=fired,
    )


async def test_insert_many_stores_what_insert_stores_and_attaches_nothing(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await _case_id(client, tenant)
    first = _event(case_id, "many1", data={"row": 2, "text": "引号 ' and \\"})
    second = _event(case_id, "many2", to_status="resolved")  # data, visibility: defaults
    awkward, empty = _clock(case_id, "many-a", _AWKWARD), _clock(case_id, "many-b", [])
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await rows.insert_many(session, [first, awkward, second, empty])
        for obj in (first, second, awkward, empty):
            assert sa_inspect(obj).transient  # not in the session
        assert not session.new
        assert (second.visibility, second.data, second.from_status) == ("internal", {}, None)
        assert (awkward.cycle, awkward.period, awkward.paused_seconds) == (1, 1, 0)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        events = {
            e.type: e
            for e in await session.scalars(
                select(CaseEvent).where(CaseEvent.type.in_(["many1", "many2"]))
            )
        }
        assert events["many1"].data == {"row": 2, "text": "引号 ' and \\"}
        assert events["many1"].tenant_id == tenant.id
        assert events["many2"].data == {}
        assert (events["many2"].from_status, events["many2"].to_status) == (None, "resolved")
        assert events["many2"].created_at == second.created_at
        clocks = {
            c.id: c
            for c in await session.scalars(select(SlaClock).where(SlaClock.case_id == case_id))
        }
        assert clocks[awkward.id].fired == _AWKWARD
        assert clocks[empty.id].fired == []
        assert clocks[awkward.id].spec == {"nested": {"list": [1, "二"]}, "none": None}
        assert clocks[awkward.id].stopped_at == awkward.stopped_at
        assert clocks[awkward.id].paused_at is None


async def test_insert_many_refuses_a_value_too_long_instead_of_cutting_it(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await _case_id(client, tenant)
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            await rows.insert_many(session, [_event(case_id, "x" * 41)])  # type: varchar(40)
    with pytest.raises(asyncpg.StringDataRightTruncationError):
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            await rows.insert_many(
                session, [_clock(case_id, "many-c", ["y" * 161])]
            )  # fired: (160)[]


async def test_insert_many_stays_inside_the_tenant_boundary(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await _case_id(client, tenant)
    async with sessionmaker(app_engine)() as session, session.begin():
        with pytest.raises(TenantNotBound):
            await rows.insert_many(session, [_event(case_id, "unbound")])
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        foreign = _event(case_id, "foreign", tenant_id=other_tenant.id)
        with pytest.raises(TenantMismatch, match=str(other_tenant.id)):
            await rows.insert_many(session, [_event(case_id, "mine"), foreign])
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        ready = rows.many(session, [_event(case_id, "made-ready")])
    async with transaction(sessionmaker(app_engine), other_tenant.id) as session:
        with pytest.raises(TenantMismatch, match=str(tenant.id)):
            await rows.insert_many(session, ready)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        written = await session.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.type.in_(["unbound", "foreign", "mine", "made-ready"]))
        )
        assert written == 0


async def test_a_refused_insert_inside_a_savepoint_rolls_back_only_the_savepoint(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await _case_id(client, tenant)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await rows.insert_many(session, [_event(case_id, "kept-before")])
        with pytest.raises(asyncpg.StringDataRightTruncationError):
            async with session.begin_nested():
                await rows.insert_many(session, [_event(case_id, "x" * 41)])
        # The transaction goes on: only the savepoint was rolled back.
        await rows.insert_many(session, [_event(case_id, "kept-after")])
        await rows.insert(session, _event(case_id, "kept-orm"))
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        kept = await session.scalars(
            select(CaseEvent.type).where(CaseEvent.type.like("kept-%")).order_by(CaseEvent.type)
        )
        assert list(kept) == ["kept-after", "kept-before", "kept-orm"]
