"""HTTP for business calendars: `/api/v1/calendars`. Every staff role reads them (due
times are computed with them); only admins change them."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from closeloop.errors import UnprocessableEntity
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal
from closeloop.sla.calendar_models import Calendar
from closeloop.sla.calendar_schemas import (
    CalendarCreate,
    CalendarDay,
    CalendarRead,
    CalendarUpdate,
)
from closeloop.sla.calendar_service import CalendarService, load
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


def _given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a body sets (PATCH leaves out what does not change), as plain values."""
    given = {}
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if value is msgspec.UNSET:
            continue
        given[name] = msgspec.to_builtins(value) if isinstance(value, msgspec.Struct) else value
    return given


def _service(session: Any, principal: Principal) -> CalendarService:
    return CalendarService(session, actor=principal.actor)


class CalendarController(Controller):
    path = "/api/v1/calendars"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_calendars(self, db_session: DbSession, principal: Caller) -> list[CalendarRead]:
        """The tenant's calendars, the default first."""
        return [_read(row) for row in await _service(db_session, principal).list()]

    @post("/", opt=access(Role.ADMIN))
    async def create_calendar(
        self, db_session: DbSession, principal: Caller, data: JSONBody[CalendarCreate]
    ) -> CalendarRead:
        service = _service(db_session, principal)
        return _read(await service.create(_given(data)))

    @get("/{calendar_id:uuid}")
    async def get_calendar(
        self, db_session: DbSession, principal: Caller, calendar_id: FromPath[uuid.UUID]
    ) -> CalendarRead:
        return _read(await _service(db_session, principal).get(calendar_id))

    @patch("/{calendar_id:uuid}", opt=access(Role.ADMIN))
    async def update_calendar(
        self,
        db_session: DbSession,
        principal: Caller,
        calendar_id: FromPath[uuid.UUID],
        data: JSONBody[CalendarUpdate],
    ) -> CalendarRead:
        """Change the fields given; due times already computed stay as they are."""
        service = _service(db_session, principal)
        return _read(await service.update(calendar_id, _given(data)))

    @delete("/{calendar_id:uuid}", opt=access(Role.ADMIN))
    async def delete_calendar(
        self, db_session: DbSession, principal: Caller, calendar_id: FromPath[uuid.UUID]
    ) -> None:
        """Delete a calendar that is not the default and that no SLA policy names."""
        await _service(db_session, principal).delete(calendar_id)

    @get("/{calendar_id:uuid}/days")
    async def list_calendar_days(
        self,
        db_session: DbSession,
        principal: Caller,
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
        row = await _service(db_session, principal).get(calendar_id)
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
