"""The SLA clocks of an imported case as history (`ClockService.record_history`), for a
new case and again when a re-import changes a case nobody has handled since."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import OPEN
from closeloop.cases.models import Case, CaseEvent
from closeloop.imports.records import ImportedCase
from closeloop.sla.clocks import ClockService
from closeloop.sla.models import SlaClock, SlaClockEvent

__all__ = ["clock_history", "redo_clock_history"]


async def clock_history(
    clocks: ClockService, case: Case, record: ImportedCase, now: dt.datetime
) -> list[Any]:
    """The case's first response and resolution clocks as history (rows not yet added):
    stopped when the file says the case was resolved (else closed, archived, followed
    up), or at the import for a case still open; none for a finished case whose file
    gives no such time (there is nothing to measure). A target whose outcome the file
    states (`record.sla`) has that clock instead, met or breached as stated."""
    ended = record.resolved_at or record.closed_at or record.archived_at or record.followup_at
    history: list[Any] = []
    if ended is not None or case.status in OPEN:
        history = await clocks.record_history(case, ended_at=ended or now, now=now)
    if not record.sla:
        return history
    history = [row for row in history if row.target not in record.sla]
    for target, outcome in record.sla.items():
        history += await clocks.record_stated(
            case,
            target,
            outcome.due,
            started_at=outcome.started_at or case.received_at,
            met=outcome.met,
            now=now,
        )
    return history


async def redo_clock_history(
    session: AsyncSession,
    clocks: ClockService,
    case: Case,
    record: ImportedCase,
    now: dt.datetime,
) -> bool:
    """A re-import changed `case`: record its clock history again from the new times,
    severity and category, unless the case has been handled in Closeloop since it was
    imported (any timeline event besides `imported`): then its clocks are live history
    of that handling and are kept. Whether the history was recorded again."""
    handled = await session.scalar(
        select(exists().where(CaseEvent.case_id == case.id, CaseEvent.type != "imported"))
    )
    if handled:
        return False
    await session.execute(delete(SlaClockEvent).where(SlaClockEvent.case_id == case.id))
    await session.execute(delete(SlaClock).where(SlaClock.case_id == case.id))
    history = await clock_history(clocks, case, record, now)
    for row in history:  # through the ORM: an update is one case, not a batch
        row.tenant_id = case.tenant_id
    session.add_all(history)
    await session.flush()
    return True
