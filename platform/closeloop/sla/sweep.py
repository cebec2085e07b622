"""The due-clock sweep: find the clocks whose next check has come, across tenants, and act.

One round:

1. `closeloop_sla_claim(n, due_by, lease)` (a SECURITY DEFINER function owned by the
   migration role, executable by the application role only) takes up to n clocks with
   `next_check_at <= due_by`, oldest first, through the partial index on
   `next_check_at` (`FOR UPDATE SKIP LOCKED`, so sweeps running side by side share the
   work), and moves their `next_check_at` a lease ahead. It returns (tenant, clock)
   ids only; the tables keep FORCE ROW LEVEL SECURITY, the owner passes them through
   a policy that holds only while the function runs.
2. Each clock is then checked in a transaction bound to its own tenant
   (`ladder.check_clock`), which sets its real next check. A check that fails leaves
   the lease in place: the clock comes back when the lease ends.

So the cost of a sweep follows the clocks that are due, not the open cases: a clock
that is not due is never read. Rounds repeat until fewer than n clocks were due or
the time budget is spent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.db import transaction, utcnow
from closeloop.logs import get_logger
from closeloop.sla.ladder import check_clock

__all__ = ["CLAIM_SQL", "SweepReport", "claim_due", "sweep_due"]

log = get_logger(__name__)

CLAIM_SQL = "SELECT tenant_id, id FROM closeloop_sla_claim(:max_rows, :due_by, :lease_seconds)"
_CLAIM = text(CLAIM_SQL)


@dataclasses.dataclass
class SweepReport:
    claimed: int = 0
    breached: int = 0
    fired: int = 0
    failed: int = 0
    seconds: float = 0.0


async def claim_due(
    factory: async_sessionmaker[AsyncSession],
    *,
    due_by: dt.datetime,
    max_rows: int,
    lease_seconds: int,
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Claim up to `max_rows` due clocks of any tenant: [(tenant_id, clock_id)]."""
    async with transaction(factory) as session:
        rows = (
            await session.execute(
                _CLAIM,
                {"max_rows": max_rows, "due_by": due_by, "lease_seconds": lease_seconds},
            )
        ).all()
    return [(row.tenant_id, row.id) for row in rows]


async def sweep_due(
    factory: async_sessionmaker[AsyncSession],
    *,
    now: dt.datetime | None = None,
    batch_size: int = 200,
    concurrency: int = 4,
    lease_seconds: int = 120,
    budget_seconds: float = 20.0,
) -> SweepReport:
    """Act on every clock due by `now` (default: the current time); see the module doc."""
    report = SweepReport()
    started = time.monotonic()
    limit = asyncio.Semaphore(max(1, concurrency))

    async def check(tenant_id: uuid.UUID, clock_id: uuid.UUID, at: dt.datetime) -> None:
        async with limit:
            try:
                async with transaction(factory, tenant_id) as session:
                    result = await check_clock(session, clock_id, now=at)
            except Exception:
                report.failed += 1
                log.exception("SLA clock check failed", tenant_id=tenant_id, clock_id=clock_id)
                return
            report.breached += int(result.breached)
            report.fired += len(result.fired)

    while True:
        at = now or utcnow()
        claimed = await claim_due(
            factory, due_by=at, max_rows=batch_size, lease_seconds=lease_seconds
        )
        report.claimed += len(claimed)
        await asyncio.gather(*(check(tenant_id, clock_id, at) for tenant_id, clock_id in claimed))
        if len(claimed) < batch_size or time.monotonic() - started > budget_seconds:
            break
    report.seconds = time.monotonic() - started
    if report.claimed:
        log.info(
            "SLA clocks swept",
            claimed=report.claimed,
            breached=report.breached,
            fired=report.fired,
            failed=report.failed,
            seconds=round(report.seconds, 3),
        )
    return report
