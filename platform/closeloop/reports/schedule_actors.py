"""The report sweep: `send_scheduled_reports`, enqueued for every active tenant every
`SWEEP_EVERY_SECONDS` by the scheduler, sends the tenant's report e-mails that are due
(`closeloop.reports.mailing`). Safe to deliver twice and to run in several schedulers at
once: the schedules are locked and a period is recorded as sent in the transaction that
makes its e-mails.
"""

from __future__ import annotations

from closeloop.db import utcnow
from closeloop.logs import get_logger
from closeloop.queue.actors import actor_transaction, closeloop_actor, current_message
from closeloop.queue.schedule import register
from closeloop.reports.mailing import send_due_reports

__all__ = ["SWEEP_EVERY_SECONDS", "send_scheduled_reports"]

log = get_logger(__name__)

SWEEP_EVERY_SECONDS = 60


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


register("report_schedules", SWEEP_EVERY_SECONDS, "send_scheduled_reports")
