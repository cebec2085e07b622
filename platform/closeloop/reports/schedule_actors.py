"""The report sweep. Every `SWEEP_EVERY_SECONDS` the scheduler asks `due_tenants` which
tenants have a report e-mail due and queues `send_scheduled_reports` for those alone
(not for every active tenant: most minutes, none).

`due_tenants` calls `closeloop_report_claim()` (migration 0021), the way the SLA sweep
claims due clocks (`closeloop.sla.sweep`): a SECURITY DEFINER function that reads the
active schedules of active tenants whose `next_run_at` has come, through the partial
index on it, across tenants, moves each a lease (`LEASE_SECONDS`) ahead and returns
their (tenant, schedule) ids only. It runs in the scheduler's transaction, so the claim
and the queued jobs commit together. The job sends what is due
(`closeloop.reports.mailing`) and sets each schedule's real `next_run_at` (the send time of its next
period, on the tenant's calendar); a job that fails is retried, and when the lease
ends the sweep queues it again.

Safe to deliver twice and to run in several schedulers at once: the schedules are
locked and a period is recorded as sent in the transaction that makes its e-mails.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.db import utcnow
from closeloop.logs import get_logger
from closeloop.queue.actors import actor_transaction, closeloop_actor, current_message
from closeloop.queue.schedule import register
from closeloop.reports.mailing import send_due_reports

__all__ = [
    "CLAIM_SQL",
    "LEASE_SECONDS",
    "SWEEP_EVERY_SECONDS",
    "due_tenants",
    "send_scheduled_reports",
]

log = get_logger(__name__)

SWEEP_EVERY_SECONDS = 60
# How long a claimed schedule waits for its job before the sweep queues it again.
LEASE_SECONDS = 600
# Schedules claimed by one sweep; more wait for the next minute.
MAX_CLAIMED = 1000
CLAIM_SQL = "SELECT tenant_id, id FROM closeloop_report_claim(:due_by, :lease_seconds, :max_rows)"
_CLAIM = text(CLAIM_SQL)


async def due_tenants(session: AsyncSession, now: dt.datetime) -> Sequence[uuid.UUID]:
    """Claim the schedules due by `now`, of any tenant; their tenants, each once."""
    rows = await session.execute(
        _CLAIM, {"due_by": now, "lease_seconds": LEASE_SECONDS, "max_rows": MAX_CLAIMED}
    )
    return list(dict.fromkeys(row.tenant_id for row in rows.all()))


@closeloop_actor(
    actor_name="send_scheduled_reports",
    queue_name="default",
    max_retries=5,
    time_limit=300_000,
)
async def send_scheduled_reports(*, tenant_id: str, message_id: str) -> None:
    """Send this tenant's weekly and monthly report e-mails that are due now."""
    settings = current_message().settings
    async with actor_transaction() as session:
        made = await send_due_reports(session, settings=settings, now=utcnow())
    if made:
        log.info("report e-mails made", count=len(made))


register("report_schedules", SWEEP_EVERY_SECONDS, "send_scheduled_reports", targets=due_tenants)
