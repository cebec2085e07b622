"""Periodic sweeps: `register(name, every_seconds, actor_name)` at import time of an actor
module; the scheduler (`closeloop scheduler`, or the app process in the embedded default)
enqueues `actor_name` once per period for every active tenant, through the outbox.

A sweep with `targets` is enqueued only for the tenants `targets(session, now)` answers,
in the scheduler's transaction (so what it claims and the jobs it queues commit
together): the report sweep asks for the tenants whose report e-mails are due instead
of waking every tenant every minute.

Several scheduler processes may run: the `scheduled_runs` row of a sweep is locked while
it fans out, so each period fans out once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["Schedule", "Targets", "register", "schedules"]

# (the scheduler's session, bound to no tenant; now) -> the tenants to enqueue for.
Targets = Callable[[AsyncSession, dt.datetime], Awaitable[Sequence[uuid.UUID]]]


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    every_seconds: int
    actor_name: str
    targets: Targets | None = None  # None: every active tenant


_SCHEDULES: dict[str, Schedule] = {}


def register(
    name: str, every_seconds: int, actor_name: str, *, targets: Targets | None = None
) -> Schedule:
    """Declare a periodic sweep. The actor receives `tenant_id` (and `message_id`) only;
    `targets` chooses the tenants (default: every active one)."""
    if every_seconds < 1:
        raise ValueError("every_seconds must be at least 1")
    schedule = Schedule(
        name=name, every_seconds=every_seconds, actor_name=actor_name, targets=targets
    )
    existing = _SCHEDULES.get(name)
    if existing is not None and existing != schedule:
        raise ValueError(f"schedule {name!r} is already registered as {existing}")
    _SCHEDULES[name] = schedule
    return schedule


def schedules() -> list[Schedule]:
    return sorted(_SCHEDULES.values(), key=lambda s: s.name)
