"""How to get the report schedule service: `ReportScheduleService(session, *, actor=...,
settings=...)`, audited as the caller."""

from __future__ import annotations

from closeloop.providers import audited_as_caller
from closeloop.reports.schedules import ReportScheduleService

__all__ = ["provide_report_schedule_service"]

provide_report_schedule_service = audited_as_caller(
    ReportScheduleService, "provide_report_schedule_service"
)
