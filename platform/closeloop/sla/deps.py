"""How to get the SLA services: one provider per service.

`PolicyService`, `CalendarService` and `ClockService` take `(session, *, actor=...,
settings=...)`; the providers are Litestar dependencies (parameters `db_session`,
`principal`, `settings`) that act as the caller. Actors and lifecycle hooks, which have
no caller, call the same constructor with their actor name (`sla`, `system`).
"""

from __future__ import annotations

from closeloop.providers import audited_as_caller
from closeloop.sla.calendar_service import CalendarService
from closeloop.sla.clocks import ClockService
from closeloop.sla.policies import PolicyService

__all__ = ["provide_calendar_service", "provide_clock_service", "provide_policy_service"]

provide_policy_service = audited_as_caller(PolicyService, "provide_policy_service")
provide_calendar_service = audited_as_caller(CalendarService, "provide_calendar_service")
provide_clock_service = audited_as_caller(ClockService, "provide_clock_service")
