"""`closeloop.rows`: new rows written through the driver, as a flush would leave them."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import Integer, String, func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from closeloop import rows
from closeloop.cases.models import CaseEvent
from closeloop.db import new_id, sessionmaker, transaction
from closeloop.notify.models import Notification
from closeloop.queue.models import OutboxMessage
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
