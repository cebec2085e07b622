"""The outbox: a job exists exactly when the change that asked for it committed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import TenantNotBound, sessionmaker, transaction
from closeloop.queue import UnknownActor, enqueue
from closeloop.queue.models import OutboxMessage
from support import TenantHandle


async def _enqueue_then_fail(engine: AsyncEngine, tenant_id: uuid.UUID) -> None:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        await enqueue(session, "check_delivery", tenant_id=tenant_id)
        raise RuntimeError("the change failed")


async def _pending(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[OutboxMessage]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return list((await session.scalars(select(OutboxMessage))).all())


async def test_a_committed_change_leaves_one_pending_row(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        written = await enqueue(session, "check_delivery", tenant_id=tenant.id)
    (row,) = await _pending(app_engine, tenant.id)
    assert (row.id, row.status, row.actor_name, row.args) == (
        written.id,
        "pending",
        "check_delivery",
        {},
    )


async def test_a_rolled_back_change_leaves_nothing(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    with pytest.raises(RuntimeError, match="the change failed"):
        await _enqueue_then_fail(app_engine, tenant.id)
    assert await _pending(app_engine, tenant.id) == []


async def test_the_relay_is_notified_only_on_commit(
    app_engine: AsyncEngine, database: object, tenant: TenantHandle
) -> None:
    import asyncpg

    listener = await asyncpg.connect(database.app_url)  # type: ignore[attr-defined]
    heard: list[str] = []
    await listener.add_listener("closeloop_outbox", lambda *args: heard.append(args[2]))
    try:
        with pytest.raises(RuntimeError):
            await _enqueue_then_fail(app_engine, tenant.id)
        await listener.execute("SELECT 1")
        assert heard == []
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            await enqueue(session, "check_delivery", tenant_id=tenant.id)
        for _ in range(50):
            if heard:
                break
            await listener.execute("SELECT pg_sleep(0.05)")
        assert heard
    finally:
        await listener.close()


async def test_enqueue_refuses_an_unknown_actor_and_a_foreign_tenant(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        with pytest.raises(UnknownActor):
            await enqueue(session, "no_such_actor", tenant_id=tenant.id)
        with pytest.raises(TenantNotBound):
            await enqueue(session, "check_delivery", tenant_id=other_tenant.id)
        with pytest.raises(TypeError):
            await enqueue(session, "check_delivery", tenant_id=tenant.id, message_id="x")


async def test_each_tenant_sees_only_its_own_outbox_rows(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for handle in (tenant, other_tenant, other_tenant):
        async with transaction(sessionmaker(app_engine), handle.id) as session:
            await enqueue(session, "check_delivery", tenant_id=handle.id)
    assert len(await _pending(app_engine, tenant.id)) == 1
    assert len(await _pending(app_engine, other_tenant.id)) == 2
    async with app_engine.begin() as conn:
        unscoped = (await conn.execute(text("SELECT count(*) FROM outbox_messages"))).scalar_one()
    assert unscoped == 0


async def test_the_claim_function_sees_every_tenant_but_the_table_stays_closed(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for handle in (tenant, other_tenant):
        async with transaction(sessionmaker(app_engine), handle.id) as session:
            await enqueue(session, "check_delivery", tenant_id=handle.id)
    async with app_engine.begin() as conn:
        claimed = (await conn.execute(text("SELECT * FROM closeloop_outbox_claim(10)"))).all()
        # The gate the function opened for itself is closed again.
        after = (await conn.execute(text("SELECT count(*) FROM outbox_messages"))).scalar_one()
        gate = (
            await conn.execute(select(func.current_setting("closeloop.queue_relay", True)))
        ).scalar_one()
    assert {row.tenant_id for row in claimed} == {tenant.id, other_tenant.id}
    assert after == 0
    assert not gate
