"""The SLA actor: `sweep_due_clocks`, enqueued by the scheduler every `SWEEP_EVERY_SECONDS`.

The scheduler fans a periodic sweep out as one message per active tenant; the sweep
itself claims due clocks across tenants (`closeloop.sla.sweep`), so whichever message
runs first does the period's work and the others find little or nothing left (an
index probe each). Messages running at once on several worker threads share the due
clocks without doing one twice. With a sweep every 15 s and the relay's latency, a
breach is acted on well within a minute of its due time.

The actor is safe to deliver twice: every level it fires is recorded on the clock in
the transaction of its effects (see `closeloop.sla.ladder`).
"""

from __future__ import annotations

from closeloop.queue.actors import closeloop_actor, current_message
from closeloop.queue.schedule import register
from closeloop.sla.sweep import sweep_due

__all__ = ["SWEEP_EVERY_SECONDS", "sweep_due_clocks"]

SWEEP_EVERY_SECONDS = 15
# Leave room under the actor's time limit for the last round to finish.
_BUDGET_SECONDS = 30.0
# Clocks checked at once by one message (each on its own connection of the worker's pool,
# which the worker's threads share): sweeps running side by side add up.
_CONCURRENCY = 2


@closeloop_actor(
    actor_name="sweep_due_clocks",
    queue_name="sla",
    max_retries=3,
    time_limit=120_000,
    min_backoff=1_000,
    max_backoff=10_000,
)
async def sweep_due_clocks(*, tenant_id: str, message_id: str) -> None:
    """Act on the clocks that are due now, whatever their tenant."""
    await sweep_due(
        current_message().sessionmaker, concurrency=_CONCURRENCY, budget_seconds=_BUDGET_SECONDS
    )


register("sla_due_clocks", SWEEP_EVERY_SECONDS, "sweep_due_clocks")
