"""Database access: the engine, the declarative base, and the tenant scope.

The tenant scope is central and fails closed:

* `tenant_scope(session, tenant_id)` is the one place that binds a tenant to a
  transaction (`set_config('app.tenant_id', ..., true)`, i.e. `SET LOCAL`), so
  row-level security in PostgreSQL sees it;
* one ORM hook adds `tenant_id = :bound` to every query of a `TenantOwned` model
  and raises `TenantNotBound` when no tenant is bound;
* the driver path (`closeloop.rows`) refuses to run with no tenant bound too, and
  fills every `tenant_id` (of a new row, of a statement's parameter) with the bound
  tenant, refusing another (`TenantMismatch`);
* `unscoped(session)` is the loud escape hatch for operator code that must see
  across tenants, on both paths. RLS still applies underneath: without a tenant set,
  the application role sees no tenant rows at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import (
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    Select,
    Uuid,
    event,
    func,
    select,
    text,
)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    with_loader_criteria,
)

__all__ = [
    "Base",
    "DatabaseUnavailable",
    "TenantMismatch",
    "TenantNotBound",
    "TenantOwned",
    "add_in_savepoint",
    "asyncpg_url",
    "bound_tenant",
    "create_engine",
    "new_id",
    "one_default_per_tenant",
    "scope_setting",
    "scoped",
    "sync_tenant_scope",
    "tenant_fk",
    "tenant_scope",
    "unscoped",
    "unscoped_now",
    "utcnow",
    "where_equal",
]

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_Q = TypeVar("_Q", bound=Select[Any])

_TENANT_KEY = "closeloop.tenant_id"
_UNSCOPED_KEY = "closeloop.unscoped"


class TenantNotBound(RuntimeError):
    """A tenant-owned model was queried, or the driver path used, in a session with no
    tenant bound."""


class TenantMismatch(RuntimeError):
    """The driver path was given a row or a `tenant_id` of another tenant than the one
    bound to the session."""


class DatabaseUnavailable(ConnectionError):
    """No new connection to the database could be made: refused, unreachable, timed out.
    (An `OSError`, as asyncpg's own error was, so callers catching that still do.)"""


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: DateTime(timezone=True), uuid.UUID: Uuid(as_uuid=True)}


class TenantOwned:
    """Mixin for every tenant-owned table: `tenant_id` leads the primary key.

    Foreign keys between tenant tables are composite `(tenant_id, id)`, so a row
    can never point into another tenant, and the schema distributes by
    `tenant_id`. The schema test in `tests/isolation` checks every such table
    for the key, `ENABLE` and `FORCE ROW LEVEL SECURITY` and the policy.
    """

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())


def tenant_fk(columns: list[str], table: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    """The composite foreign key `(tenant_id, *columns)` to `table`'s `(tenant_id, id)`."""
    return ForeignKeyConstraint(
        ["tenant_id", *columns], [f"{table}.tenant_id", f"{table}.id"], ondelete=ondelete
    )


def one_default_per_tenant(table: str) -> Index:
    """The partial unique index that lets a tenant mark at most one row of `table`
    `is_default` (the service keeps exactly one)."""
    return Index(
        f"uq_{table}_tenant_id_default",
        "tenant_id",
        unique=True,
        postgresql_where=text("is_default"),
    )


def asyncpg_url(url: str) -> str:
    """`postgresql://...` as SQLAlchemy's asyncpg URL; a `host=` socket folder is kept."""
    parts = urlsplit(url)
    scheme = "postgresql+asyncpg"
    query = dict(parse_qsl(parts.query))
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


_SERVER_SETTINGS = {"application_name": "closeloop", "plan_cache_mode": "force_custom_plan"}
# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 5.0
_IDLE_SINCE = "closeloop.idle_since"
# How long opening a new connection may take (asyncpg would wait 60 s).
CONNECT_TIMEOUT_SECONDS = 10.0


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 30.0) -> AsyncEngine:
    """The engine over a pool of asyncpg connections.

    A checkout waits at most `pool_timeout` seconds for a connection when all
    `2 × pool_size` are in use, then raises SQLAlchemy's `TimeoutError`; a new
    connection that cannot be made raises `DatabaseUnavailable`. The web app answers
    both with 503 and `Retry-After`.

    Instead of SQLAlchemy's `pool_pre_ping`, which costs three round trips (BEGIN,
    a ping, ROLLBACK) on every checkout, a connection is pinged only when it sat idle
    for more than `PING_AFTER_IDLE_SECONDS` or its socket is known to be closed; a
    failed ping hands out a new connection instead (the pool retries). A connection
    busy a moment ago that the server has since dropped still fails its request.

    Every statement is planned for the data it runs on (`plan_cache_mode`): a plan
    PostgreSQL caches for a connection is made for the tables as they were, and on nearly
    empty tables every index that starts with `tenant_id` looks as good as the primary
    key. Such a plan, kept by a long-lived connection (the checks of foreign keys
    included), makes every lookup by id read all of a tenant's rows once the tables have
    grown; a server without autovacuum never replaces it. Planning anew costs about
    20 microseconds per statement.
    """
    engine = create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=pool_timeout,
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS, "server_settings": _SERVER_SETTINGS},
    )
    event.listen(engine.sync_engine, "do_connect", _connect)
    event.listen(engine.sync_engine, "connect", _mark_idle)
    event.listen(engine.sync_engine, "checkin", _mark_idle)
    event.listen(engine.sync_engine, "checkout", _ping_if_idle)
    return engine


def _connect(dialect: Any, record: Any, cargs: Any, cparams: Any) -> Any:
    # asyncpg raises OSError (refused, unreachable, name not found, timed out) as it is,
    # which SQLAlchemy passes on unwrapped; give it one name callers can tell apart.
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as exc:
        raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc


def _mark_idle(dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    idle_since = record.info.get(_IDLE_SINCE)
    closed = dbapi_connection.driver_connection.is_closed()
    recent = idle_since is not None and time.monotonic() - idle_since <= PING_AFTER_IDLE_SECONDS
    if recent and not closed:
        return
    try:
        if closed:
            raise ConnectionError("the connection is closed")
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError(f"stale database connection: {exc}") from exc


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def tenant_scope(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Bind `tenant_id` to the session's current transaction (and its ORM queries)."""
    await session.execute(select(scope_setting(str(tenant_id))))
    session.info[_TENANT_KEY] = tenant_id


def scope_setting(value: Any) -> Any:
    """The SQL that binds a tenant (its id as text, or a bound parameter giving it) to
    the transaction, to select along with other columns; call `scoped(session,
    tenant_id)` once that statement ran."""
    return func.set_config("app.tenant_id", value, True)


def scoped(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """The transaction was bound to `tenant_id` by a statement with `scope_setting`."""
    session.info[_TENANT_KEY] = tenant_id


def bound_tenant(session: AsyncSession | Session) -> uuid.UUID | None:
    return session.info.get(_TENANT_KEY)


def required_tenant(session: AsyncSession | Session, who: str) -> uuid.UUID:
    """The session's bound tenant; `who` (a tenant service) fails loudly without one."""
    tenant_id = bound_tenant(session)
    assert tenant_id is not None, f"{who} needs a tenant-bound session"
    return tenant_id


def sync_tenant_scope(session: Session, tenant_id: uuid.UUID | None) -> None:
    """`tenant_scope()` for code running in SQLAlchemy's greenlet (session events,
    `run_sync`); None unbinds the tenant (row-level security then shows no tenant rows)."""
    session.execute(select(scope_setting(str(tenant_id) if tenant_id is not None else "")))
    if tenant_id is None:
        session.info.pop(_TENANT_KEY, None)
    else:
        session.info[_TENANT_KEY] = tenant_id


@contextlib.contextmanager
def unscoped(session: AsyncSession | Session) -> Iterator[AsyncSession | Session]:
    """Operator code only: ORM queries of tenant models without the tenant filter, and
    the driver path (`closeloop.rows`) without a bound tenant, taking the `tenant_id`s
    it is given as they are. Row-level security still applies to the application role."""
    session.info[_UNSCOPED_KEY] = True
    try:
        yield session
    finally:
        session.info.pop(_UNSCOPED_KEY, None)


def unscoped_now(session: AsyncSession | Session) -> bool:
    """Whether the session is inside an `unscoped()` block."""
    return bool(session.info.get(_UNSCOPED_KEY))


@event.listens_for(Session, "after_transaction_end")
def _forget_tenant(session: Session, transaction: Any) -> None:
    # SET LOCAL ends with the transaction; the ORM filter must end with it too.
    if transaction.parent is None:
        session.info.pop(_TENANT_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.session.info.get(_UNSCOPED_KEY):
        return
    touches_tenant_model = any(
        isinstance(mapper.class_, type) and issubclass(mapper.class_, TenantOwned)
        for mapper in state.all_mappers
    )
    if not touches_tenant_model:
        return
    tenant_id = state.session.info.get(_TENANT_KEY)
    if tenant_id is None:
        raise TenantNotBound("query of a tenant-owned model with no tenant bound")
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


async def add_in_savepoint(session: AsyncSession, obj: object) -> None:
    """Insert `obj` inside a savepoint: a unique violation raises `IntegrityError` and
    leaves the surrounding transaction usable."""
    async with session.begin_nested():
        session.add(obj)


@contextlib.asynccontextmanager
async def transaction(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID | None = None
) -> AsyncIterator[AsyncSession]:
    """One session, one transaction, optionally bound to a tenant; commits on success."""
    async with factory() as session, session.begin():
        if tenant_id is not None:
            await tenant_scope(session, tenant_id)
        yield session


def where_equal(query: _Q, *pairs: tuple[Any, Any]) -> _Q:
    """`query` with `column == value` for each `(column, value)` whose value is given
    (not None): a list's optional equality filters."""
    for column, value in pairs:
        if value is not None:
            query = query.where(column == value)
    return query
