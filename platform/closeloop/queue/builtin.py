"""Actors of the queue itself."""

from __future__ import annotations

from closeloop.queue.actors import closeloop_actor

__all__ = ["check_delivery"]


@closeloop_actor(
    actor_name="check_delivery", queue_name="default", max_retries=3, time_limit=10_000
)
async def check_delivery(*, tenant_id: str, message_id: str) -> None:
    """Does nothing; its processed-message row proves the path outbox → broker → worker."""
