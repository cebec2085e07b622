"""The bound tenant's configuration, each piece read at most once per transaction.

An intake used to read the tenant row twice, its profile three times and its
severities four times, because each service asked the database on its own. The
readers here keep what they read in the session (`session.info`) until the
transaction ends, so every service of one request shares one read.

What is kept is forgotten when the top-level transaction ends and whenever the
session flushes a change to one of the configuration models, so a request that
changes the configuration and then reads it sees its own change.

`memo(session, key, load)` is the building block for readers elsewhere (the
calendar, the SLA policies, the plugins' rows, the notification templates).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from closeloop.config.models import Category, Channel, DemandType, Severity, TenantProfile
from closeloop.db import bound_tenant
from closeloop.tenancy.models import Tenant

__all__ = [
    "channels",
    "demand_types",
    "forget",
    "memo",
    "pii_mode",
    "profile",
    "remember",
    "remember_tenant",
    "severities",
    "tenant",
    "watch",
]

T = TypeVar("T")

_MEMO_KEY = "closeloop.config_memo"
# Flushing any of these forgets what was kept (other modules add their models).
_CONFIG_MODELS: list[type] = [Tenant, TenantProfile, Severity, Channel, DemandType, Category]


def watch(*models: type) -> None:
    """Forget the kept configuration whenever a row of `models` is flushed."""
    _CONFIG_MODELS.extend(m for m in models if m not in _CONFIG_MODELS)


def _kept(session: AsyncSession | Session) -> dict[Any, Any]:
    kept: dict[Any, Any] | None = session.info.get(_MEMO_KEY)
    if kept is None:
        kept = session.info[_MEMO_KEY] = {}
    return kept


def remember(session: AsyncSession, key: Any, value: Any) -> None:
    """Keep `value` under `key` for the rest of the transaction."""
    _kept(session)[key] = value


def forget(session: AsyncSession | Session) -> None:
    session.info.pop(_MEMO_KEY, None)


async def memo(session: AsyncSession, key: Any, load: Callable[[], Awaitable[T]]) -> T:
    """`load()` once per transaction and tenant; later calls answer what it returned."""
    kept = _kept(session)
    full_key = (bound_tenant(session), key)
    if full_key in kept:
        return kept[full_key]  # type: ignore[no-any-return]
    value = await load()
    kept[full_key] = value
    return value


async def tenant(session: AsyncSession) -> Tenant:
    """The bound tenant's row."""
    tenant_id = bound_tenant(session)
    assert tenant_id is not None, "config.current needs a tenant-bound session"

    async def load() -> Tenant:
        row = await session.get(Tenant, tenant_id)
        assert row is not None
        return row

    return await memo(session, "tenant", load)


def remember_tenant(session: AsyncSession, row: Tenant) -> None:
    """Keep the bound tenant's row that the caller has just read."""
    _kept(session)[(row.id, "tenant")] = row


async def profile(session: AsyncSession) -> TenantProfile | None:
    """The bound tenant's profile (None only for a tenant made without defaults)."""

    async def load() -> TenantProfile | None:
        return await session.scalar(select(TenantProfile).limit(1))

    return await memo(session, "profile", load)


async def pii_mode(session: AsyncSession) -> str:
    found = await profile(session)
    return found.pii_mode if found is not None else "normal"


async def severities(session: AsyncSession) -> list[Severity]:
    """The bound tenant's active severities, lowest rank first."""

    async def load() -> list[Severity]:
        query = select(Severity).where(Severity.active).order_by(Severity.rank, Severity.code)
        return list((await session.scalars(query)).all())

    return await memo(session, "severities", load)


async def channels(session: AsyncSession) -> list[Channel]:
    """The bound tenant's active channels, in their order."""

    async def load() -> list[Channel]:
        query = select(Channel).where(Channel.active).order_by(Channel.position, Channel.code)
        return list((await session.scalars(query)).all())

    return await memo(session, "channels", load)


async def demand_types(session: AsyncSession) -> list[DemandType]:
    """The bound tenant's active demand types, in their order."""

    async def load() -> list[DemandType]:
        query = (
            select(DemandType)
            .where(DemandType.active)
            .order_by(DemandType.position, DemandType.code)
        )
        return list((await session.scalars(query)).all())

    return await memo(session, "demand_types", load)


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        forget(session)


@event.listens_for(Session, "after_flush")
def _forget_on_change(session: Session, flush_context: Any) -> None:
    if _MEMO_KEY not in session.info:
        return
    models = tuple(_CONFIG_MODELS)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, models):
            forget(session)
            return
