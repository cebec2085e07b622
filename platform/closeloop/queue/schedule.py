"""Periodic sweeps: `register(name, every_seconds, actor_name)` at import time of an actor
module; the scheduler (`closeloop scheduler`, or the app process in the embedded default)
enqueues `actor_name` once per period for every active tenant, through the outbox.

Several scheduler processes may run: the `scheduled_runs` row of a sweep is locked while
it fans out, so each period fans out once.
"""

from __future__ import annotations

import dataclasses

__all__ = ["Schedule", "register", "schedules"]


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    every_seconds: int
    actor_name: str


_SCHEDULES: dict[str, Schedule] = {}


def register(name: str, every_seconds: int, actor_name: str) -> Schedule:
    """Declare a periodic sweep. The actor receives `tenant_id` (and `message_id`) only."""
    if every_seconds < 1:
        raise ValueError("every_seconds must be at least 1")
    schedule = Schedule(name=name, every_seconds=every_seconds, actor_name=actor_name)
    existing = _SCHEDULES.get(name)
    if existing is not None and existing != schedule:
        raise ValueError(f"schedule {name!r} is already registered as {existing}")
    _SCHEDULES[name] = schedule
    return schedule


def schedules() -> list[Schedule]:
    return sorted(_SCHEDULES.values(), key=lambda s: s.name)
