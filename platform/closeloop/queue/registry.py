"""Where actors are found: the modules `closeloop worker` imports, and the declared actors.

A domain that defines actors appends its module to `ACTOR_MODULES` (in this file, so the
list is one grep away), e.g. `"closeloop.notify.actors"`. `load_actor_modules()` imports
them all; the worker, the scheduler, the in-process runner and `enqueue()` (on a name it
does not know yet) call it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from closeloop.queue.actors import ActorSpec

__all__ = [
    "ACTOR_MODULES",
    "UnknownActor",
    "actor_spec",
    "all_actors",
    "load_actor_modules",
    "register",
]

ACTOR_MODULES: list[str] = [
    "closeloop.queue.builtin",
    "closeloop.notify.actors",
    "closeloop.followups.actors",
    "closeloop.plugins.actors",
    "closeloop.sla.actors",
    "closeloop.imports.actors",
    "closeloop.reports.actors",
    "closeloop.reports.schedule_actors",
]

_ACTORS: dict[str, ActorSpec] = {}


class UnknownActor(LookupError):
    """No actor of that name is declared in any module of ACTOR_MODULES."""


def register(spec: ActorSpec) -> None:
    existing = _ACTORS.get(spec.actor_name)
    if existing is not None and existing.fn is not spec.fn:
        qualname = f"{existing.fn.__module__}.{existing.fn.__qualname__}"
        raise ValueError(f"actor name {spec.actor_name!r} is already taken by {qualname}")
    _ACTORS[spec.actor_name] = spec


def load_actor_modules() -> None:
    for name in list(ACTOR_MODULES):
        importlib.import_module(name)


def actor_spec(actor_name: str) -> ActorSpec:
    """The declared actor `actor_name`; imports ACTOR_MODULES once if it is not known yet."""
    spec = _ACTORS.get(actor_name)
    if spec is None:
        load_actor_modules()
        spec = _ACTORS.get(actor_name)
    if spec is None:
        raise UnknownActor(f"no actor named {actor_name!r} (is its module in ACTOR_MODULES?)")
    return spec


def all_actors() -> list[ActorSpec]:
    return list(_ACTORS.values())
