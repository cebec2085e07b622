"""Request and response bodies of `/api/v1/calendars`.

Working hours are time ranges `"HH:MM-HH:MM"` per weekday (`24:00` may end one); a
weekday left out or given `[]` has none. Dates are ISO dates (`2026-10-08`). Update
bodies (PATCH) leave out what does not change; a list given replaces the stored one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from closeloop.bounded import Name
from closeloop.config.schemas import Code

__all__ = ["CalendarCreate", "CalendarDay", "CalendarRead", "CalendarUpdate", "WeekHours"]

TimeRange = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
        description="working time within one day, e.g. 09:00-12:00; the end may be 24:00",
        examples=["09:00-12:00"],
    ),
]
Ranges = Annotated[list[TimeRange], msgspec.Meta(max_length=24)]
TimeZone = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="IANA name, e.g. Asia/Shanghai")
]
Country = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[A-Za-z]{2,3}$",
        description="ISO 3166 code whose public holidays apply (e.g. CN); null for none",
    ),
]
Subdivision = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Dates = Annotated[list[dt.date], msgspec.Meta(max_length=1000)]


class WeekHours(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Working time ranges per weekday; breaks are the gaps between ranges."""

    mon: Ranges = msgspec.field(default_factory=list)
    tue: Ranges = msgspec.field(default_factory=list)
    wed: Ranges = msgspec.field(default_factory=list)
    thu: Ranges = msgspec.field(default_factory=list)
    fri: Ranges = msgspec.field(default_factory=list)
    sat: Ranges = msgspec.field(default_factory=list)
    sun: Ranges = msgspec.field(default_factory=list)


class CalendarCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Left out: the tenant's time zone, China's public holidays, Mon-Fri 09:00-12:00 and
    13:30-18:00. The first calendar of a tenant is its default whatever `is_default` says."""

    code: Code
    name: Name
    timezone: TimeZone | None = None
    country: Country | None = "CN"
    subdivision: Subdivision | None = None
    week_hours: WeekHours | None = None
    workday_hours: Ranges | None = None
    extra_holidays: Dates = msgspec.field(default_factory=list)
    extra_working_days: Dates = msgspec.field(default_factory=list)
    is_default: bool = False


class CalendarUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`is_default: true` makes this the default (the old default stops being one); a
    default calendar stops being one only when another takes its place."""

    name: Name | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    country: Country | UnsetType | None = UNSET
    subdivision: Subdivision | UnsetType | None = UNSET
    week_hours: WeekHours | UnsetType = UNSET
    workday_hours: Ranges | UnsetType | None = UNSET
    extra_holidays: Dates | UnsetType = UNSET
    extra_working_days: Dates | UnsetType = UNSET
    is_default: bool | UnsetType = UNSET


class CalendarRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    timezone: str
    country: str | None
    subdivision: str | None
    week_hours: WeekHours
    workday_hours: list[str] | None
    extra_holidays: list[dt.date]
    extra_working_days: list[dt.date]
    is_default: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CalendarDay(msgspec.Struct, kw_only=True):
    """One date as the calendar sees it: its working hours (wall clock), if any."""

    date: dt.date
    working: bool
    holiday: bool
    hours: list[str]
