"""The bound tenant's configuration, read once per transaction and cached per process.

An intake used to read the tenant row twice, its profile three times and its
severities four times, and the channels, plugins, SLA policy, calendar, ladder,
templates and webhooks once each, on every request. Two layers keep that down:

* **per transaction** (`memo`): what a reader returned is kept in the session
  (`session.info`) until the top-level transaction ends, so every service of one
  request shares one read;
* **per process** (`shared`): configuration rows are also kept in the process,
  stamped with the tenant's `config_version`. Triggers on every configuration table
  (migration `0009_config_version`) bump that number in the same transaction as any
  insert, update or delete, whoever makes it, so a cached copy is used only while the
  tenant row (read once per request anyway, by authentication) still carries the
  version it was read under. Several app processes stay consistent without talking
  to each other. The cached rows are detached ORM objects shared by every request
  of the process: readers only read them; configuration services change rows they
  read themselves.

What is kept is forgotten whenever the session writes one of the configuration
models (flush or ORM statement), and such a transaction then reads from the database
for the rest of its life, so a request that changes the configuration sees its own
change.
"""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from closeloop.config.defaults import DEFAULT_PROFILE
from closeloop.config.models import (
    Category,
    Channel,
    DemandType,
    Department,
    Severity,
    TenantProfile,
)
from closeloop.db import bound_tenant, required_tenant
from closeloop.tenancy.models import Tenant

__all__ = [
    "CACHE_SIZE",
    "channels",
    "clear_cache",
    "demand_types",
    "forget",
    "memo",
    "pii_mode",
    "profile",
    "remember_tenant",
    "satisfaction_level",
    "satisfaction_scale",
    "severities",
    "shared",
    "tenant",
    "watch",
    "watched",
]

T = TypeVar("T")

CACHE_SIZE = 4096  # (tenant, key) entries kept per process, least recently used dropped

_MEMO_KEY = "closeloop.config_memo"
_CHANGED_KEY = "closeloop.config_changed"
# Writing any of these forgets what was kept (other modules add their models).
_CONFIG_MODELS: list[type] = [
    Tenant,
    TenantProfile,
    Severity,
    Channel,
    DemandType,
    Category,
    Department,
]

_cache: collections.OrderedDict[tuple[Any, ...], tuple[int, Any]] = collections.OrderedDict()
_cache_lock = threading.Lock()


def watched() -> tuple[type, ...]:
    """The configuration models: a write to any of them forgets what was kept, and
    each of their tables (the tenants table aside) bumps the config version."""
    return tuple(_CONFIG_MODELS)


def watch(*models: type) -> None:
    """Forget the kept configuration whenever a row of `models` is flushed."""
    _CONFIG_MODELS.extend(m for m in models if m not in _CONFIG_MODELS)


def _kept(session: AsyncSession | Session) -> dict[Any, Any]:
    kept: dict[Any, Any] | None = session.info.get(_MEMO_KEY)
    if kept is None:
        kept = session.info[_MEMO_KEY] = {}
    return kept


def forget(session: AsyncSession | Session) -> None:
    session.info.pop(_MEMO_KEY, None)


def clear_cache() -> None:
    """Forget the process-wide copies (tests)."""
    with _cache_lock:
        _cache.clear()


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
    tenant_id = required_tenant(session, "config.current")

    async def load() -> Tenant:
        row = await session.get(Tenant, tenant_id)
        assert row is not None
        return row

    return await memo(session, "tenant", load)


def remember_tenant(session: AsyncSession, row: Tenant) -> None:
    """Keep the bound tenant's row that the caller has just read."""
    _kept(session)[(row.id, "tenant")] = row


async def shared(session: AsyncSession, key: Any, load: Callable[[], Awaitable[T]]) -> T:
    """Configuration rows `load()` reads, cached per process under the tenant's
    `config_version` and kept per transaction. `load` returns None, an ORM object,
    or lists, tuples and dicts of them.

    A cached answer is made of detached copies shared by every request of the process:
    read them, never change them (change configuration through its service, which
    reads its own rows)."""

    async def fetch() -> T:
        tenant_id = bound_tenant(session)
        if session.info.get(_CHANGED_KEY):
            return await load()
        version = (await tenant(session)).config_version
        with _cache_lock:
            found = _cache.get((tenant_id, key))
            if found is not None:
                _cache.move_to_end((tenant_id, key))
        if found is not None and found[0] == version:
            return found[1]  # type: ignore[no-any-return]
        value = await load()
        with _cache_lock:
            _cache[(tenant_id, key)] = (version, _detached_copy(value))
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        return value

    return await memo(session, ("shared", key), fetch)


def _detached_copy(value: Any) -> Any:
    """`value` with every ORM object replaced by a detached copy of its loaded columns;
    other values must be immutable (tuples, UUIDs, times) or lists and dicts of them."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return type(value)(_detached_copy(v) for v in value)
    if isinstance(value, dict):
        return {k: _detached_copy(v) for k, v in value.items()}
    state = sa_inspect(value, raiseerr=False)
    if state is None:
        return value  # a plain value (UUID, datetime, ...): immutable
    mapper = state.mapper
    # As the ORM's own loading does: the values go straight into the instance's dict
    # as loaded, unchanged state; the instance never joins a session.
    copy = mapper.class_manager.new_instance()
    copy.__dict__.update(
        {a.key: _copy(state.dict[a.key]) for a in mapper.column_attrs if a.key in state.dict}
    )
    make_transient_to_detached(copy)
    return copy


def _copy(value: Any) -> Any:
    """A copy of a column value: JSON containers are copied, everything else is immutable."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


async def profile(session: AsyncSession) -> TenantProfile | None:
    """The bound tenant's profile (None only for a tenant made without defaults)."""

    async def load() -> TenantProfile | None:
        return await session.scalar(select(TenantProfile).limit(1))

    return await shared(session, "profile", load)


async def pii_mode(session: AsyncSession) -> str:
    found = await profile(session)
    return found.pii_mode if found is not None else "normal"


async def satisfaction_scale(session: AsyncSession) -> list[dict[str, Any]]:
    """The bound tenant's scale (`[{code, name_zh, name_en, satisfied}]`, best first);
    the default one while the profile sets none."""
    found = await profile(session)
    if found is None or not found.satisfaction_scale:
        scale: list[dict[str, Any]] = DEFAULT_PROFILE["satisfaction_scale"]
        return scale
    return found.satisfaction_scale


async def satisfaction_level(
    session: AsyncSession, code: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The level of the bound tenant's scale answered by `code` (None when no level has
    it), and the scale's codes (what a refusal names)."""
    scale = await satisfaction_scale(session)
    level = next((item for item in scale if item.get("code") == code), None)
    return level, [str(item.get("code")) for item in scale]


async def category(session: AsyncSession, category_id: uuid.UUID) -> Category | None:
    """The bound tenant's category `category_id`, active or not (None when it has none)."""

    async def load() -> Category | None:
        return await session.scalar(select(Category).where(Category.id == category_id))

    return await shared(session, ("category", category_id), load)


async def severities(session: AsyncSession) -> list[Severity]:
    """The bound tenant's active severities, lowest rank first."""

    async def load() -> list[Severity]:
        query = select(Severity).where(Severity.active).order_by(Severity.rank, Severity.code)
        return list((await session.scalars(query)).all())

    return await shared(session, "severities", load)


async def channels(session: AsyncSession) -> list[Channel]:
    """The bound tenant's active channels, in their order."""

    async def load() -> list[Channel]:
        query = select(Channel).where(Channel.active).order_by(Channel.position, Channel.code)
        return list((await session.scalars(query)).all())

    return await shared(session, "channels", load)


async def demand_types(session: AsyncSession) -> list[DemandType]:
    """The bound tenant's active demand types, in their order."""

    async def load() -> list[DemandType]:
        query = (
            select(DemandType)
            .where(DemandType.active)
            .order_by(DemandType.position, DemandType.code)
        )
        return list((await session.scalars(query)).all())

    return await shared(session, "demand_types", load)


def _changed(session: Session) -> None:
    forget(session)
    session.info[_CHANGED_KEY] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        forget(session)
        session.info.pop(_CHANGED_KEY, None)


@event.listens_for(Session, "after_flush")
def _forget_on_change(session: Session, flush_context: Any) -> None:
    models = tuple(_CONFIG_MODELS)
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, models):
            _changed(session)
            return


@event.listens_for(Session, "do_orm_execute")
def _forget_on_statement(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, tuple(_CONFIG_MODELS)):
        _changed(state.session)
