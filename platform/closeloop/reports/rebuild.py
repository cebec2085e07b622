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

__all__ = ["BATCH", "Rebuilt", "rebuild", "refresh_cases", "refresh_import"]

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
            changed += await facts.refresh_many(
                session, case_ids[start : start + BATCH], context=context
            )
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


async def refresh_import(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, run_id: uuid.UUID
) -> int:
    """Refresh the facts of the cases an import run wrote (created or updated since it
    started); answers how many changed. The import calls it before it reports the run
    done, so its figures are there when the run is."""
    from closeloop.imports.models import ImportRun

    async with transaction(factory, tenant_id) as session:
        started = await session.scalar(select(ImportRun.started_at).where(ImportRun.id == run_id))
        if started is None:
            return 0
        written = select(Case.id).where(Case.import_run_id.is_not(None), Case.updated_at >= started)
        case_ids = list((await session.scalars(written.order_by(Case.id))).all())
    return await refresh_cases(factory, tenant_id, case_ids)
