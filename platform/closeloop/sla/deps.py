"""How to get the SLA services: one provider per service.

`PolicyService`, `CalendarService` and `ClockService` take `(session, *, actor=...,
settings=...)`; the providers are Litestar dependencies (parameters `db_session`,
`principal`, `settings`) that act as the caller. Actors and lifecycle hooks, which have
no caller, call the same constructor with their actor name (`sla`, `system`).
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.sla.calendar_service import CalendarService
from closeloop.sla.clocks import ClockService
from closeloop.sla.policies import PolicyService

__all__ = ["provide_calendar_service", "provide_clock_service", "provide_policy_service"]

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]


def provide_policy_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> PolicyService:
    """The bound tenant's SLA policies, changes audited as the caller."""
    return PolicyService(db_session, actor=principal.actor, settings=settings)


def provide_calendar_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> CalendarService:
    """The bound tenant's business calendars, changes audited as the caller."""
    return CalendarService(db_session, actor=principal.actor, settings=settings)


def provide_clock_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> ClockService:
    """A case's SLA clocks, changed (paused, resumed) as the caller."""
    return ClockService(db_session, actor=principal.actor, settings=settings)
