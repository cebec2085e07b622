"""`/api/v1/report-schedules`: a tenant's weekly and monthly report e-mails (admins)."""

from __future__ import annotations

from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.reports.schedule_deps import provide_report_schedule_service
from closeloop.reports.schedule_schemas import (
    ReportScheduleCreate,
    ReportScheduleRead,
    ReportScheduleUpdate,
)
from closeloop.web.crud import CrudController

__all__ = ["ReportScheduleController"]


class ReportScheduleController(CrudController):
    path = "/api/v1/report-schedules"
    tags = ("reports",)
    opt = access(Role.ADMIN)
    item, provider = "report_schedule", provide_report_schedule_service
    read, create_body, update_body = (
        ReportScheduleRead,
        ReportScheduleCreate,
        ReportScheduleUpdate,
    )
    deletable = True
    docs = {
        "list": "The tenant's report e-mails.",
        "create": "Send a report by e-mail every week (Monday 09:00, last week) or month\n"
        "(the 1st 09:00, last month) in the tenant's time zone: the key figures, the charts\n"
        "inline and the workbook attached, to staff who may read reports. 422 names a bad\n"
        "frequency, locale or recipient.",
        "update": "Change the fields given. A new frequency starts with its next period.",
        "delete": "Stop sending this report; the e-mails sent stay on record.",
    }
