"""Background work: transactional outbox, relay, Dramatiq actors, dead letters, schedules.

Producers call `enqueue(session, actor_name, tenant_id=..., **kwargs)` in their
transaction; actors are declared with `@closeloop_actor(...)` in a module listed in
`closeloop.queue.registry.ACTOR_MODULES`; periodic sweeps with
`closeloop.queue.schedule.register(name, every_seconds, actor_name)`.
"""

from __future__ import annotations

from closeloop.queue.actors import (
    ActorSpec,
    AlreadyProcessed,
    MessageContext,
    actor_transaction,
    closeloop_actor,
    current_message,
    tenant_transaction,
)
from closeloop.queue.outbox import enqueue
from closeloop.queue.registry import ACTOR_MODULES, UnknownActor

__all__ = [
    "ACTOR_MODULES",
    "ActorSpec",
    "AlreadyProcessed",
    "MessageContext",
    "UnknownActor",
    "actor_transaction",
    "closeloop_actor",
    "current_message",
    "enqueue",
    "tenant_transaction",
]
