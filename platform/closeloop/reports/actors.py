"""The reports' actor: `refresh_case_facts`, one case's facts and rollup brought up to
date.

Enqueued by `closeloop.reports.hooks` whenever a case changes. Safe to deliver twice:
the facts are recomputed from the case's sources, so a second run finds nothing to
change, and the message id is recorded with the change (`actor_transaction`).
"""

from __future__ import annotations

import uuid

from closeloop.queue.actors import actor_transaction, closeloop_actor
from closeloop.reports.facts import refresh
from closeloop.reports.hooks import REFRESH_ACTOR

__all__ = ["refresh_case_facts"]


@closeloop_actor(actor_name=REFRESH_ACTOR, queue_name="default", max_retries=5, time_limit=60_000)
async def refresh_case_facts(*, tenant_id: str, message_id: str, case_id: str) -> None:
    """Recompute the case's row of `case_facts` and move the daily rollup with it."""
    async with actor_transaction() as session:
        await refresh(session, uuid.UUID(case_id))
