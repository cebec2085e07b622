"""HTTP for business calendars: `/api/v1/calendars`. Every staff role reads them (due
times are computed with them); only admins change them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from closeloop.errors import UnprocessableEntity
from closeloop.identity.access import ALL_ROLES, access
from closeloop.sla.calendar_models import Calendar
from closeloop.sla.calendar_schemas import (
    CalendarCreate,
    CalendarDay,
    CalendarRead,
    CalendarUpdate,
)
from closeloop.sla.calendar_service import CalendarService, load
from closeloop.sla.deps import provide_calendar_service
from closeloop.web.crud import ConfigurationController
from closeloop.web.deps import Caller, DbSession

__all__ = ["CalendarController"]

MAX_DAYS = 366
DEFAULT_DAYS = 30


def _read(row: Calendar) -> CalendarRead:
    return msgspec.convert(
        {name: getattr(row, name) for name in CalendarRead.__struct_fields__},
        CalendarRead,
        from_attributes=True,
    )


CALENDAR_DOCS = {
    "list": "The tenant's calendars, the default first.",
    "update": "Change the fields given; due times already computed stay as they are.",
    "delete": "Delete a calendar that is not the default and that no SLA policy names.",
}


class CalendarController(ConfigurationController):
    path, docs = "/api/v1/calendars", CALENDAR_DOCS
    item, provider, deletable = "calendar", provide_calendar_service, True
    read, create_body, update_body = CalendarRead, CalendarCreate, CalendarUpdate

    async def present(self, service: CalendarService, row: Calendar) -> CalendarRead:
        return _read(row)

    @get("/{calendar_id:uuid}/days", opt=access(*ALL_ROLES))
    async def list_calendar_days(
        self,
        db_session: DbSession,
        principal: Caller,
        service: NamedDependency[CalendarService],
        calendar_id: FromPath[uuid.UUID],
        start: Annotated[
            dt.date | None, QueryParameter(name="from", description="first date; default today")
        ] = None,
        end: Annotated[
            dt.date | None,
            QueryParameter(name="to", description="last date; default 30 days on, at most 366"),
        ] = None,
    ) -> list[CalendarDay]:
        """Each date from `from` to `to` with its working hours, holidays and substituted
        working days applied: what the calendar will compute with."""
        row = await service.get(calendar_id)
        calendar = await load(db_session, row.id)
        start = start or dt.datetime.now(calendar.zone).date()
        end = end or start + dt.timedelta(days=DEFAULT_DAYS - 1)
        if end < start or (end - start).days >= MAX_DAYS:
            raise UnprocessableEntity(
                f"to: give a date on or after from, at most {MAX_DAYS} days on",
                field="to",
            )
        days = (start + dt.timedelta(days=n) for n in range((end - start).days + 1))
        return [
            CalendarDay(
                date=day,
                working=calendar.is_working_day(day),
                holiday=calendar.is_holiday(day),
                hours=[str(interval) for interval in calendar.hours_of(day)],
            )
            for day in days
        ]
