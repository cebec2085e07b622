"""SLA: business calendars, and the clocks that count working time on cases.

`BusinessCalendar` (pure arithmetic) lives in `closeloop.sla.calendar`; tenant
calendars are stored and loaded by `closeloop.sla.calendar_service`.
"""

from __future__ import annotations

from closeloop.sla.calendar import BusinessCalendar, CalendarError, TimeUnit

__all__ = ["BusinessCalendar", "CalendarError", "TimeUnit"]
