"""The bodies and answers of `/api/v1/report-schedules`."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec

__all__ = ["ReportScheduleCreate", "ReportScheduleRead", "ReportScheduleUpdate"]

Name = Annotated[str, msgspec.Meta(max_length=200)]
Recipients = Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=50)]


class ReportScheduleCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A report e-mail: `weekly` (Monday 09:00, last week) or `monthly` (the 1st 09:00,
    last month) in the tenant's time zone; `locale` `zh-CN` or `en` (default: the
    tenant's); `recipients`: user ids of staff who may read reports (admins,
    supervisors, viewers); `name` is the e-mail's title (default: "Weekly report")."""

    frequency: str
    recipients: Recipients
    locale: str | None = None
    name: Name = ""
    active: bool = True


class ReportScheduleUpdate(msgspec.Struct, forbid_unknown_fields=True):
    frequency: str | msgspec.UnsetType = msgspec.UNSET
    recipients: Recipients | msgspec.UnsetType = msgspec.UNSET
    locale: str | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class ReportScheduleRead(msgspec.Struct):
    """A schedule; `last_period_from` is the first day of the last period sent (or
    passed over when the frequency changed), `last_sent_at` when it was sent,
    `next_run_at` when its next report is due (null while paused)."""

    id: uuid.UUID
    name: str
    frequency: str
    locale: str
    recipients: list[uuid.UUID]
    active: bool
    last_period_from: dt.date | None
    last_sent_at: dt.datetime | None
    next_run_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
