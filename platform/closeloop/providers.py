"""What each domain's `deps.py` builds its providers from.

A provider is a Litestar dependency and a plain function at once: its parameters are
the app's `db_session`, `principal` and `settings` dependencies, so a handler declares
the service it needs as a parameter, and an actor or the CLI calls the same function
with its own session, principal and settings. Most services act as the caller in one
of two ways; `as_caller` and `audited_as_caller` make those providers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["AppSettings", "Caller", "Session", "as_caller", "audited_as_caller"]

S = TypeVar("S")
Provider = Callable[[AsyncSession, Principal, Settings], S]
# `principal` is None only where a service allows it (the public intake form).
CallerProvider = Callable[[AsyncSession, Principal | None, Settings], S]

# The parameters of every provider: the request's transaction, the caller, the settings.
Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]


def _named(provide: Callable[..., Any], name: str, doc: str) -> None:
    provide.__name__ = provide.__qualname__ = name
    provide.__doc__ = doc


def as_caller(service: Callable[..., S], name: str) -> CallerProvider[S]:
    """`name(db_session, principal, settings)`: `service(db_session, principal=principal,
    settings=settings)`, for a service that checks what the caller may do."""

    def provide(
        db_session: Session, principal: NamedDependency[Principal | None], settings: AppSettings
    ) -> Any:
        return service(db_session, principal=principal, settings=settings)

    _named(provide, name, f"`{getattr(service, '__name__', service)}` as the caller.")
    return provide


def audited_as_caller(service: Callable[..., S], name: str) -> Provider[S]:
    """`name(db_session, principal, settings)`: `service(db_session,
    actor=principal.actor, settings=settings)`, for a service whose changes are
    audited as the caller."""

    def provide(db_session: Session, principal: Caller, settings: AppSettings) -> Any:
        return service(db_session, actor=principal.actor, settings=settings)

    _named(provide, name, f"`{getattr(service, '__name__', service)}`, audited as the caller.")
    return provide
