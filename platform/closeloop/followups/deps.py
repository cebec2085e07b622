"""How to get the follow-up services: one provider per service.

`FollowupService(session, *, actor=..., settings=...)` and
`FollowupQueue(session, *, principal=..., settings=...)`; the providers are Litestar
dependencies (parameters `db_session`, `principal`, `settings`). The lifecycle hook and
the actors, which have no caller, call the constructor with their actor name.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.followups.queue import FollowupQueue
from closeloop.followups.service import FollowupService
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["provide_followup_queue", "provide_followup_service"]

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]


def provide_followup_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> FollowupService:
    """Follow-up tasks of the bound tenant, changed as the caller."""
    return FollowupService(db_session, actor=principal.actor, settings=settings)


def provide_followup_queue(
    db_session: Session, principal: Caller, settings: AppSettings
) -> FollowupQueue:
    """The follow-up tasks the caller may see and work on."""
    return FollowupQueue(db_session, principal=principal, settings=settings)
