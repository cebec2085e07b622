"""The driver connection of a session's transaction, and the tenant rule of the driver
path (`closeloop.rows`' docstring)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.util import await_

from closeloop.db import (
    TenantMismatch,
    TenantNotBound,
    TenantOwned,
    bound_tenant,
    unscoped_now,
)

_DRIVER_KEY = "closeloop.rows.driver"
TENANT = "tenant_id"  # the column, and the parameter a statement names it with


def session_dialect(session: AsyncSession) -> Dialect:
    bind = session.bind
    assert bind is not None, "closeloop.rows needs a session bound to an engine"
    return bind.dialect


def required_tenant(session: AsyncSession | Session) -> uuid.UUID | None:
    """The bound tenant; None only inside `unscoped()`, else `TenantNotBound`."""
    tenant_id = bound_tenant(session)
    if tenant_id is None and not unscoped_now(session):
        raise TenantNotBound(
            "the driver path (closeloop.rows) runs inside a tenant: bind one first "
            "(closeloop.db.tenant_scope), or opt out with closeloop.db.unscoped()"
        )
    return tenant_id


def own(tenant_id: uuid.UUID | None, objects: Sequence[object], unscoped: bool) -> None:
    """Give the new tenant-owned `objects` the bound tenant; refuse one of another."""
    for obj in objects:
        if not isinstance(obj, TenantOwned):
            continue
        state = obj.__dict__
        given = state.get(TENANT)
        if given is None:
            if tenant_id is not None:
                state[TENANT] = tenant_id
        elif given != tenant_id and not unscoped:
            raise TenantMismatch(
                f"{type(obj).__name__} of tenant {given} in a session bound to {tenant_id}"
            )


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, the transaction begun (kept
    in the session until the transaction ends). `TenantNotBound` with no tenant bound
    (outside `unscoped()`)."""
    required_tenant(session)
    return await driver_connection(session)


async def driver_connection(session: AsyncSession) -> asyncpg.Connection:
    # Asked every time: inside `begin_nested()` SQLAlchemy sends the SAVEPOINT only when
    # the savepoint's transaction first wants its connection, and a statement sent
    # straight to the driver must be inside it (else its failure aborts the whole
    # transaction, and the savepoint's rollback rolls back nothing).
    proxy = await session.connection()
    conn: asyncpg.Connection | None = session.info.get(_DRIVER_KEY)
    if conn is None:
        raw = await proxy.get_raw_connection()
        conn = session.info[_DRIVER_KEY] = await _begun(raw.dbapi_connection)
    return conn


def sync_driver(session: Session) -> asyncpg.Connection:
    """`driver()` for code running in SQLAlchemy's greenlet (`run_sync`, session events);
    the same connection, kept the same way, under the same rule."""
    required_tenant(session)
    proxy = session.connection()  # asked every time, as in `driver_connection`
    conn: asyncpg.Connection | None = session.info.get(_DRIVER_KEY)
    if conn is None:
        conn = session.info[_DRIVER_KEY] = await_(_begun(proxy.connection.dbapi_connection))
    return conn


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_DRIVER_KEY, None)


async def _begun(adapted: Any) -> asyncpg.Connection:
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it
    # runs itself; a statement sent straight to the driver must not come first.
    if adapted._transaction is None:
        await adapted._start_transaction()
    connection: asyncpg.Connection = adapted.driver_connection
    return connection


def attach(session: Session, objects: Sequence[object]) -> None:
    for obj in objects:
        make_transient_to_detached(obj)
        session.add(obj)
