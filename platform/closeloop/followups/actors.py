"""The follow-up sweep: `schedule_unanswered_followups`, enqueued for every active tenant
every `SWEEP_EVERY_SECONDS` by the scheduler.

A resolved case whose customer gave no first answer within the first-feedback window
(`FIRST_FEEDBACK_WORKING_DAYS`) still gets its follow-up: the sweep schedules and
assigns it like a satisfied answer would have. Safe to deliver twice: a case that has
a follow-up for its resolution is not picked again.
"""

from __future__ import annotations

from closeloop.followups.service import schedule_unanswered
from closeloop.logs import get_logger
from closeloop.queue.actors import actor_transaction, closeloop_actor
from closeloop.queue.schedule import register

__all__ = ["SWEEP_EVERY_SECONDS", "schedule_unanswered_followups"]

log = get_logger(__name__)

SWEEP_EVERY_SECONDS = 600


@closeloop_actor(
    actor_name="schedule_unanswered_followups",
    queue_name="default",
    max_retries=3,
    time_limit=120_000,
)
async def schedule_unanswered_followups(*, tenant_id: str, message_id: str) -> None:
    """Schedule the follow-ups of this tenant's resolved cases nobody answered for."""
    async with actor_transaction() as session:
        scheduled = await schedule_unanswered(session)
    if scheduled:
        log.info("follow-ups scheduled for unanswered cases", count=scheduled)


register("followups_unanswered", SWEEP_EVERY_SECONDS, "schedule_unanswered_followups")
