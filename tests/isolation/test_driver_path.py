"""The driver path (`closeloop.rows`) inside the tenant boundary, as the ORM path is.

Nothing of it runs with no tenant bound; a new row takes the bound tenant, one naming
another tenant is refused before anything is sent; a statement's `tenant_id` is the
bound tenant. Operator code opts out with `closeloop.db.unscoped()`, and even then the
application role writes nothing into another tenant (row-level security).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import rows
from closeloop.cases.models import Customer
from closeloop.db import (
    TenantMismatch,
    TenantNotBound,
    new_id,
    sessionmaker,
    tenant_scope,
    transaction,
    unscoped,
)
from closeloop.queue.models import OutboxMessage
from support import TenantHandle

_MARK = "driver_boundary_test"
_CUSTOMERS: Table = Customer.__table__  # type: ignore[assignment]
_COUNT_CUSTOMERS = rows.Query(
    select(func.count())
    .select_from(_CUSTOMERS)
    .where(_CUSTOMERS.c.tenant_id == bindparam("tenant_id"))
)


def _message(tenant_id: uuid.UUID | None = None) -> OutboxMessage:
    values = {"tenant_id": tenant_id} if tenant_id is not None else {}
    return rows.new(
        OutboxMessage,
        id=new_id(),
        actor_name=_MARK,
        queue_name="notifications",
        args={},
        available_at=dt.datetime.now(dt.UTC),
        **values,
    )


def _customer(tenant_id: uuid.UUID | None = None) -> Customer:
    values = {"tenant_id": tenant_id} if tenant_id is not None else {}
    return rows.new(Customer, id=new_id(), external_ref=_MARK, **values)


async def _written(engine: AsyncEngine, tenant_id: uuid.UUID) -> tuple[int, int]:
    """This test's outbox messages and customers stored for `tenant_id` (read as the
    application role with that tenant bound)."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        messages = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.actor_name == _MARK)
        )
        customers = await session.scalar(
            select(func.count()).select_from(Customer).where(Customer.external_ref == _MARK)
        )
    return int(messages or 0), int(customers or 0)


async def test_the_driver_path_refuses_to_run_with_no_tenant_bound(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with sessionmaker(app_engine)() as session, session.begin():
        with pytest.raises(TenantNotBound, match="bind one first"):
            await rows.insert(session, _message(tenant.id))
        with pytest.raises(TenantNotBound):
            async with rows.together(session):
                await rows.insert(session, _message(tenant.id))
        with pytest.raises(TenantNotBound):
            await rows.InsertNew(Customer).insert(session, _customer(tenant.id))
        with pytest.raises(TenantNotBound):
            await _COUNT_CUSTOMERS.fetchval(session, tenant_id=tenant.id)
        with pytest.raises(TenantNotBound):
            await rows.driver(session)
        with pytest.raises(TenantNotBound):
            await session.run_sync(rows.sync_driver)
    assert await _written(app_engine, tenant.id) == (0, 0)


async def test_a_new_row_takes_the_bound_tenant_and_a_query_names_it(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    message, customer = _message(), _customer()
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await rows.insert(session, message)
        assert await rows.InsertNew(Customer).insert(session, customer)
        assert await _COUNT_CUSTOMERS.fetchval(session) == 1  # `tenant_id` not given
    assert (message.tenant_id, customer.tenant_id) == (tenant.id, tenant.id)
    assert await _written(app_engine, tenant.id) == (1, 1)
    assert await _written(app_engine, other_tenant.id) == (0, 0)


async def test_a_row_or_parameter_of_another_tenant_is_refused_and_nothing_written(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        with pytest.raises(TenantMismatch, match=str(other_tenant.id)):
            await rows.insert(session, _message(tenant.id), _message(other_tenant.id))
        with pytest.raises(TenantMismatch):
            async with rows.together(session):
                await rows.insert(session, _message(other_tenant.id))
        with pytest.raises(TenantMismatch):
            await rows.InsertNew(Customer).insert(session, _customer(other_tenant.id))
        with pytest.raises(TenantMismatch):
            await _COUNT_CUSTOMERS.fetchval(session, tenant_id=other_tenant.id)
        # The transaction itself is still usable, and commits.
        assert await _COUNT_CUSTOMERS.fetchval(session, tenant_id=tenant.id) == 0
    assert await _written(app_engine, other_tenant.id) == (0, 0)
    assert await _written(app_engine, tenant.id) == (0, 0)


async def test_unscoped_still_writes_nothing_across_tenants_as_the_application_role(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    # Operator code opted out, with tenant A bound: row-level security refuses B's row.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            with unscoped(session):
                await rows.insert(session, _message(other_tenant.id))
    # And with no tenant bound at all, it sees and writes no tenant's rows.
    async with sessionmaker(app_engine)() as session, session.begin():
        with unscoped(session):
            assert await _COUNT_CUSTOMERS.fetchval(session, tenant_id=tenant.id) == 0
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await rows.insert(session, _message(tenant.id))
    assert await _written(app_engine, other_tenant.id) == (0, 0)
    assert await _written(app_engine, tenant.id) == (0, 0)


async def test_the_tenant_bound_last_is_the_one_rows_take(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await tenant_scope(session, other_tenant.id)
        await rows.insert(session, _message())
        with pytest.raises(TenantMismatch):
            await rows.insert(session, _message(tenant.id))
    assert await _written(app_engine, other_tenant.id) == (1, 0)
    assert await _written(app_engine, tenant.id) == (0, 0)


def test_a_query_over_a_tenant_table_must_name_its_tenant() -> None:
    with pytest.raises(TypeError, match=r"customers must name its tenant"):
        rows.Query(select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.external_ref == "x"))
    with pytest.raises(TypeError, match=r"outbox_messages must name its tenant"):
        rows.Query(select(func.count()).select_from(OutboxMessage.__table__))
    rows.InsertNew(OutboxMessage)  # names its tenant: built
