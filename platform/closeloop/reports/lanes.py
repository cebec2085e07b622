"""Two connections for one summary, both on one snapshot of the database.

The statements of a summary (`closeloop.reports.batch`) do not depend on one another,
so two connections run them side by side (a server has more than one core). `lanes()`
opens them: a new `REPEATABLE READ, READ ONLY` transaction exports its snapshot
(`pg_export_snapshot()`) and the second one imports it (`SET TRANSACTION SNAPSHOT`),
so every statement of the summary sees the same data, as one transaction would; both
as the caller's role (the session's engine), with its tenant bound the same way
(`tenant_scope`, so row-level security and the ORM's tenant criteria apply alike) and
the report's transaction settings.

None are opened, and the caller's session runs every statement one after the other
(as `lanes()` yields `[]`), when

* the session's transaction wrote to a table the statements read (`reads`) and has not
  committed, or has such changes not yet flushed: a new transaction would not see
  them (such a write holds a lock on its table until the transaction ends, which
  `pg_locks` shows). Other writes do not matter to the figures: the console records
  that a user is still there at most once a minute, an API key its use, and such a
  request still gets its lanes;
* the session is not bound to an engine (a test's own connection, say) or to a tenant;
* the engine's pool has fewer than `LANES + SPARE` connections it hands out without
  waiting: a summary takes only connections nobody waits for, and never waits itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlalchemy import Table, exc, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.pool import QueuePool

from closeloop.db import DatabaseUnavailable, bound_tenant, tenant_scope

__all__ = ["LANES", "SPARE", "lanes", "spare_connections"]

LANES = 2
# Connections left for other requests when a summary takes its lanes.
SPARE = 1

_READ_ONLY_SNAPSHOT = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
_SNAPSHOT = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def spare_connections(engine: AsyncEngine) -> int:
    """How many connections the engine's pool hands out now without waiting."""
    pool = engine.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return 0
    most = getattr(pool, "_max_overflow", 0)
    if most < 0:
        return LANES + SPARE
    return pool.checkedin() + max(0, most - pool.overflow())


# Whether the transaction wrote to one of the tables `:reads` and has not committed: a
# write holds a ROW EXCLUSIVE lock on its table (or a stronger one) until the
# transaction ends (or the subtransaction that took it rolls back).
_WROTE = text(
    """
    SELECT CASE WHEN pg_current_xact_id_if_assigned() IS NULL THEN false  -- wrote nothing
           ELSE EXISTS (SELECT FROM pg_locks
                        WHERE pid = pg_backend_pid() AND locktype = 'relation'
                          AND relation = ANY (CAST(:reads AS regclass[]))
                          AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock',
                                       'ExclusiveLock', 'AccessExclusiveLock'))
           END
    """
)


async def _wrote(session: AsyncSession, reads: Sequence[Table]) -> bool:
    """Whether the session's transaction has changes to `reads` another transaction
    cannot see."""
    tables = {table.name for table in reads}
    pending = [*session.new, *session.dirty, *session.deleted]
    if any(getattr(type(row), "__tablename__", None) in tables for row in pending):
        return True
    return bool(await session.scalar(_WROTE, {"reads": sorted(tables)}))


async def _open(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    prepare: Callable[[AsyncSession], Awaitable[None]],
    snapshot: str | None,
) -> tuple[AsyncSession, str]:
    """A new read-only transaction on `snapshot` (None: its own, exported), bound to
    `tenant_id` and prepared; and the snapshot's name."""
    session = AsyncSession(bind=engine, expire_on_commit=False)
    try:
        # BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY (reset when the connection
        # goes back to the pool)
        await session.connection(execution_options=_READ_ONLY_SNAPSHOT)
        if snapshot is None:
            snapshot = str(await session.scalar(select(func.pg_export_snapshot())))
        elif _SNAPSHOT.fullmatch(snapshot):  # a name PostgreSQL gave, never other text
            await session.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
        else:
            raise ValueError(f"not a snapshot name: {snapshot!r}")
        await tenant_scope(session, tenant_id)
        await prepare(session)
    except BaseException:
        await session.close()
        raise
    return session, snapshot


@contextlib.asynccontextmanager
async def lanes(
    session: AsyncSession,
    prepare: Callable[[AsyncSession], Awaitable[None]],
    reads: Sequence[Table],
) -> AsyncIterator[list[AsyncSession]]:
    """`LANES` new sessions on one snapshot, bound to `session`'s tenant and
    `prepare`d, closed at the end, to read the tables `reads`; or `[]` where they
    cannot stand in for `session` (see the module's text)."""
    engine = session.bind
    tenant_id = bound_tenant(session)
    if (
        not isinstance(engine, AsyncEngine)
        or tenant_id is None
        or spare_connections(engine) < LANES + SPARE
        or await _wrote(session, reads)
    ):
        yield []
        return
    opened: list[AsyncSession] = []
    try:
        snapshot = None
        for _ in range(LANES):
            if opened and spare_connections(engine) < LANES - len(opened) + SPARE:
                break  # taken meanwhile: never wait for one
            lane, snapshot = await _open(engine, tenant_id, prepare, snapshot)
            opened.append(lane)
    except (exc.TimeoutError, DatabaseUnavailable):
        pass  # no connection to be had: the caller's session runs them all
    except BaseException:
        await _close(opened)
        raise
    if len(opened) < LANES:
        await _close(opened)
        opened = []
    try:
        yield opened
    finally:
        # back to the pool even when the summary is cancelled meanwhile
        await asyncio.shield(_close(opened))


async def _close(sessions: list[AsyncSession]) -> None:
    await asyncio.gather(*(session.close() for session in sessions))
