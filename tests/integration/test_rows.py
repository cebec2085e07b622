"""`closeloop.rows`: new rows written through the driver, as a flush would leave them;
many at once (`insert_many`), stored exactly so, inside the tenant boundary, and not
attached to the session."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from sqlalchemy import Integer, String, func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from closeloop import rows
from closeloop.cases.models import CaseEvent
from closeloop.db import TenantMismatch, TenantNotBound, new_id, sessionmaker, transaction
from closeloop.notify.models import Notification
from closeloop.queue.models import OutboxMessage
from closeloop.sla.models import SlaClock
from support import Client, TenantHandle


async def _case_id(client: Client, tenant: TenantHandle) -> uuid.UUID:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={"kind": "complaint", "channel": "phone", "title": "漏水", "description": "水壶漏水"},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def _event(tenant_id: uuid.UUID, case_id: uuid.UUID, type: str) -> CaseEvent:
    # `visibility`, `data` and `created_at` are left to the model's defaults.
    return CaseEvent(
        tenant_id=tenant_id,
        id=new_id(),
        case_id=case_id,
        type=type,
        actor="test",
        from_status=None,
        to_status=None,
    )


def _outbox(tenant_id: uuid.UUID) -> OutboxMessage:
    return OutboxMessage(
        tenant_id=tenant_id,
        id=new_id(),
        actor_name="check_delivery",
        queue_name="notifications",
        args={"nested": {"list": [1, "二"]}},
        available_at=dt.datetime.now(dt.UTC),
    )


async def test_insert_writes_defaults_and_attaches_stored_rows(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await _case_id(client, tenant)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        first, second = _event(tenant.id, case_id, "t1"), _event(tenant.id, case_id, "t2")
        message = _outbox(tenant.id)
        await rows.insert(session, first, message, second)
        for obj in (first, second, message):
            state = sa_inspect(obj)
            assert state.persistent
            assert not state.modified
            assert not state.unloaded
        assert obj not in session.dirty
        assert not session.new
        assert (first.visibility, first.data, message.status, message.attempts) == (
            "internal",
            {},
            "pending",
            0,
        )
        # Written already: this transaction reads them back.
        found = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.type.in_(["t1", "t2"]))
        )
        assert found == 2
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        stored = await session.get(OutboxMessage, (tenant.id, message.id))
        assert stored is not None
        assert stored.args == {"nested": {"list": [1, "二"]}}
        event = await session.get(CaseEvent, (tenant.id, first.id))
        assert event is not None
        assert event.created_at == first.created_at


async def test_together_writes_once_at_the_end_and_nothing_when_it_raises(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await _case_id(client, tenant)

    async def count(session: object) -> int:
        result = await session.execute(  # type: ignore[attr-defined]
            text("SELECT count(*) FROM notifications WHERE event = 'held'")
        )
        return int(result.scalar_one())

    def notification() -> Notification:
        return Notification(
            tenant_id=tenant.id,
            id=new_id(),
            recipient_kind="customer",
            case_id=case_id,
            event="held",
            channel="inbox",
            locale="zh-CN",
        )

    with pytest.raises(RuntimeError, match="changed its mind"):
        async with (
            transaction(sessionmaker(app_engine), tenant.id) as session,
            rows.together(session),
        ):
            await rows.insert(session, notification())
            raise RuntimeError("changed its mind")
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        async with rows.together(session):
            await rows.insert(session, notification(), notification())
            await rows.insert(session, _event(tenant.id, case_id, "held"))
            assert await count(session) == 0  # held until the block ends
        assert await count(session) == 2
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        assert await count(session) == 2


async def test_together_does_not_nest(tenant: TenantHandle, app_engine: AsyncEngine) -> None:
    async with (
        transaction(sessionmaker(app_engine), tenant.id) as session,
        rows.together(session),
    ):
        with pytest.raises(RuntimeError, match="do not nest"):
            async with rows.together(session):
                pass


class _Other(DeclarativeBase):
    pass


class _ServerFilled(_Other):
    __tablename__ = "server_filled"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(10), server_default="x")


async def test_a_column_only_the_server_fills_is_refused(
    tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        with pytest.raises(TypeError, match=r"_ServerFilled\.label: a server-only default"):
            await rows.insert(session, _ServerFilled(id=1))


def test_new_takes_column_attributes_only() -> None:
    event = rows.new(CaseEvent, type="t", actor="a")
    assert (event.type, event.actor, sa_inspect(event).transient) == ("t", "a", True)
    with pytest.raises(TypeError, match="no column attribute 'case'"):
        rows.new(CaseEvent, case=None)


async def test_loaded_attaches_a_row_read_through_a_query(
    tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    from closeloop.tenancy.models import Tenant

    tenants = Tenant.__table__
    query = rows.Query(select(*tenants.c).where(tenants.c.id == tenant.id))  # type: ignore[attr-defined]
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        record = await query.fetchrow(session)
        assert record is not None
        row = rows.loaded(session, Tenant, record)
        state = sa_inspect(row)
        assert state.persistent
        assert not state.modified
        assert (row.id, row.slug) == (tenant.id, tenant.slug)
        assert await session.get(Tenant, tenant.id) is row  # from the identity map
        assert rows.loaded(session, Tenant, record) is row


async def test_the_driver_connection_is_kept_per_transaction(
    tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    from closeloop.db import tenant_scope

    async with sessionmaker(app_engine)() as session:
        await tenant_scope(session, tenant.id)
        first = await rows.driver(session)
        assert await rows.driver(session) is first
        await session.commit()
        # A new transaction of the same session: begun again before the driver is used.
        await tenant_scope(session, tenant.id)
        await rows.insert(session, _outbox(tenant.id))
        await session.rollback()
        await tenant_scope(session, tenant.id)
        count = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert count == 0  # the INSERT was in the rolled back transaction


async def test_insert_new_stores_once_and_reports_a_taken_key(
    tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    from closeloop.cases.models import Customer

    insert_new = rows.InsertNew(Customer)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        first = rows.new(Customer, tenant_id=tenant.id, id=new_id(), external_ref="ext-1")
        assert await insert_new.insert(session, first)
        state = sa_inspect(first)
        assert state.persistent
        assert not state.modified
        assert first.created_at is not None  # the model's default, as stored
        again = rows.new(Customer, tenant_id=tenant.id, id=new_id(), external_ref="ext-1")
        assert not await insert_new.insert(session, again)
        assert sa_inspect(again).transient
        found = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.external_ref == "ext-1")
        )
        assert found == 1


# ---- insert_many: many rows in one `unnest` statement ---------------------------------

# Array elements PostgreSQL's array text form must quote or escape.
_AWKWARD = ['say "hi"', "back\\slash", "", "二〇二六", "a,b", "{braces}", "NULL", " padded "]


def _new_event(case_id: uuid.UUID, type: str, **values: object) -> CaseEvent:
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
    first = _new_event(case_id, "many1", data={"row": 2, "text": "引号 ' and \\"})
    second = _new_event(case_id, "many2", to_status="resolved")  # data, visibility: defaults
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
            await rows.insert_many(session, [_new_event(case_id, "x" * 41)])  # type: varchar(40)
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
            await rows.insert_many(session, [_new_event(case_id, "unbound")])
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        foreign = _new_event(case_id, "foreign", tenant_id=other_tenant.id)
        with pytest.raises(TenantMismatch, match=str(other_tenant.id)):
            await rows.insert_many(session, [_new_event(case_id, "mine"), foreign])
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        ready = rows.many(session, [_new_event(case_id, "made-ready")])
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
        await rows.insert_many(session, [_new_event(case_id, "kept-before")])
        with pytest.raises(asyncpg.StringDataRightTruncationError):
            async with session.begin_nested():
                await rows.insert_many(session, [_new_event(case_id, "x" * 41)])
        # The transaction goes on: only the savepoint was rolled back.
        await rows.insert_many(session, [_new_event(case_id, "kept-after")])
        await rows.insert(session, _new_event(case_id, "kept-orm"))
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        kept = await session.scalars(
            select(CaseEvent.type).where(CaseEvent.type.like("kept-%")).order_by(CaseEvent.type)
        )
        assert list(kept) == ["kept-after", "kept-before", "kept-orm"]
