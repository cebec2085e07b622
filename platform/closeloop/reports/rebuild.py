"""Recomputing report facts and the rollup: `closeloop reports rebuild` and the job that
follows an import run.

`rebuild()` refreshes the facts of every case received in the range (each refresh also
moves the rollup of days outside the range), then recomputes the rollup of the range's
days from all facts, so afterwards the rollup equals the one kept live.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.cases.models import Case
from closeloop.db import transaction
from closeloop.reports import facts, rollup

__all__ = ["BATCH", "Rebuilt", "rebuild", "refresh_cases"]

BATCH = 500


@dataclasses.dataclass(frozen=True, slots=True)
class Rebuilt:
    cases: int
    changed: int
    buckets: int


async def refresh_cases(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, case_ids: list[uuid.UUID]
) -> int:
    """Refresh the facts of `case_ids`, `BATCH` cases a transaction; answers how many
    changed."""
    changed = 0
    for start in range(0, len(case_ids), BATCH):
        async with transaction(factory, tenant_id) as session:
            context = await facts.load_context(session)
            for case_id in case_ids[start : start + BATCH]:
                changed += await facts.refresh(session, case_id, context=context)
    return changed


async def rebuild(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Rebuilt:
    """Recompute the facts of the cases received from `date_from` to `date_to`
    (tenant-local days, inclusive; None: open-ended) and the rollup of those days."""
    async with transaction(factory, tenant_id) as session:
        zone = await rollup.tenant_zone(session)
        query = select(Case.id).order_by(Case.received_at, Case.id)
        if date_from is not None:
            query = query.where(Case.received_at >= rollup.day_start(date_from, zone))
        if date_to is not None:
            query = query.where(
                Case.received_at < rollup.day_start(date_to + dt.timedelta(days=1), zone)
            )
        case_ids = list((await session.scalars(query)).all())
    changed = await refresh_cases(factory, tenant_id, case_ids)
    async with transaction(factory, tenant_id) as session:
        buckets = await rollup.rebuild_days(session, date_from, date_to)
    return Rebuilt(cases=len(case_ids), changed=changed, buckets=buckets)
