"""The reports' actors: `refresh_case_facts`, one case's facts and rollup brought up to
date, and `refresh_import_facts`, the cases of an import run.

Enqueued by `closeloop.reports.hooks` whenever a case changes or an import run ends.
Safe to deliver twice: the facts are recomputed from the case's sources, so a second
run finds nothing to change, and the message id is recorded with the change
(`actor_transaction`).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from closeloop.cases.models import Case
from closeloop.db import transaction
from closeloop.imports.models import ImportRun
from closeloop.queue.actors import actor_transaction, closeloop_actor, current_message
from closeloop.reports.facts import refresh
from closeloop.reports.hooks import IMPORT_ACTOR, REFRESH_ACTOR
from closeloop.reports.rebuild import refresh_cases

__all__ = ["refresh_case_facts", "refresh_import_facts"]


@closeloop_actor(actor_name=REFRESH_ACTOR, queue_name="default", max_retries=5, time_limit=60_000)
async def refresh_case_facts(*, tenant_id: str, message_id: str, case_id: str) -> None:
    """Recompute the case's row of `case_facts` and move the daily rollup with it."""
    async with actor_transaction() as session:
        await refresh(session, uuid.UUID(case_id))


@closeloop_actor(actor_name=IMPORT_ACTOR, queue_name="default", max_retries=3, time_limit=3_600_000)
async def refresh_import_facts(*, tenant_id: str, message_id: str, run_id: str) -> None:
    """Refresh the facts of the cases an import run wrote (created or updated), in
    batches; safe to run twice (refreshing again changes nothing)."""
    message = current_message()
    tenant = uuid.UUID(tenant_id)
    async with transaction(message.sessionmaker, tenant) as session:
        started = await session.scalar(
            select(ImportRun.started_at).where(ImportRun.id == uuid.UUID(run_id))
        )
        written = select(Case.id).where(Case.import_run_id.is_not(None), Case.updated_at >= started)
        case_ids = list((await session.scalars(written)).all()) if started else []
    # Each batch commits on its own; the message is recorded as done once all are.
    await refresh_cases(message.sessionmaker, tenant, case_ids)
    async with actor_transaction():
        pass
