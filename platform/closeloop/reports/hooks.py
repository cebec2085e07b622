"""Where the reports hear of changes: every change to a case asks for its facts to be
recomputed (`refresh_case_facts`, through the outbox, so only a committed change does).

Called by the lifecycle's subscriber table (`on_case_change`), by intake, by the SLA
ladder (breaches, escalations) and by the follow-up scheduler (`refresh_later`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.queue.outbox import enqueue

if TYPE_CHECKING:
    from closeloop.cases.lifecycle import CaseChange
    from closeloop.settings import Settings

__all__ = [
    "REFRESH_ACTOR",
    "on_case_change",
    "refresh_later",
]

REFRESH_ACTOR = "refresh_case_facts"


async def refresh_later(session: AsyncSession, *, tenant_id: uuid.UUID, case_id: uuid.UUID) -> None:
    """Recompute the case's facts once this transaction commits."""
    await enqueue(session, REFRESH_ACTOR, tenant_id=tenant_id, case_id=str(case_id))


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    """A lifecycle action changed the case (a merge also the case merged into)."""
    case = change.case
    await refresh_later(session, tenant_id=case.tenant_id, case_id=case.id)
    if case.merged_into_id is not None and change.status_changed:
        await refresh_later(session, tenant_id=case.tenant_id, case_id=case.merged_into_id)
