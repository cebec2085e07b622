"""Report schedules: when a tenant's weekly and monthly report e-mails are due, and the
audited configuration of them (`/api/v1/report-schedules`, admins).

**When.** In the tenant's time zone (`tenants.timezone`): a `weekly` schedule sends
last week's report (ISO week, Monday to Sunday) on Monday at 09:00; a `monthly` one
last month's on the 1st at 09:00. `due_period` gives the latest period whose sending
time has come. A schedule sends each period once (`last_period_from`), only periods
whose sending time came after the schedule was made (a schedule made on a Tuesday
sends its first report the next Monday), and after an outage only the latest missed
period, late, not every one missed. `next_run` is when the sweep must next look at a
schedule (`next_run_at`, set when it is saved or sent), so the sweep reads only the
schedules that are due (`closeloop.reports.schedule_actors`).

**To whom.** Recipients are staff members of the tenant who may read reports (admins,
supervisors, viewers: the roles of `GET /api/v1/reports/summary`); each gets the
report as they would see it in the console (a department manager: their department).
The API names them by user id; the console by e-mail address (`recipient_ids`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from closeloop.crud import AuditedService, fields_of
from closeloop.db import new_id, utcnow
from closeloop.errors import UnprocessableEntity
from closeloop.identity.models import Role, User
from closeloop.reports.schedule_models import ReportSchedule
from closeloop.tenancy.models import Tenant

__all__ = [
    "FREQUENCIES",
    "LOCALES",
    "READER_ROLES",
    "SEND_AT",
    "DuePeriod",
    "ReportScheduleService",
    "due_period",
    "is_due",
    "may_read_reports",
    "next_run",
]

FREQUENCIES = ("weekly", "monthly")
LOCALES = ("zh-CN", "en")
SEND_AT = dt.time(9, 0)
READER_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.VIEWER)
MAX_RECIPIENTS = 50
MAX_NAME = 200  # report_schedules.name
# What an address looks like: something, one @, a domain with a dot; no spaces.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclasses.dataclass(frozen=True)
class DuePeriod:
    """The period a schedule reports on (tenant-local days, both inclusive) and the
    moment its report became due."""

    date_from: dt.date
    date_to: dt.date
    send_at: dt.datetime


def _period_start(frequency: str, day: dt.date) -> dt.date:
    """The first day of the week (Monday) or month that holds `day`."""
    if frequency == "weekly":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def _previous_start(frequency: str, start: dt.date) -> dt.date:
    if frequency == "weekly":
        return start - dt.timedelta(days=7)
    return (start - dt.timedelta(days=1)).replace(day=1)


def due_period(frequency: str, now: dt.datetime, zone: zoneinfo.ZoneInfo) -> DuePeriod:
    """The latest period whose report is due at `now` (aware): the one that ended before
    the last Monday (weekly) or 1st (monthly) whose 09:00 in `zone` has passed."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"unknown frequency {frequency!r}")
    local = now.astimezone(zone)
    start = _period_start(frequency, local.date())
    send_at = dt.datetime.combine(start, SEND_AT, tzinfo=zone)
    if local < send_at:
        start = _previous_start(frequency, start)
        send_at = dt.datetime.combine(start, SEND_AT, tzinfo=zone)
    return DuePeriod(
        date_from=_previous_start(frequency, start),
        date_to=start - dt.timedelta(days=1),
        send_at=send_at,
    )


def _next_start(frequency: str, start: dt.date) -> dt.date:
    if frequency == "weekly":
        return start + dt.timedelta(days=7)
    return (start + dt.timedelta(days=31)).replace(day=1)


def is_due(schedule: ReportSchedule, due: DuePeriod) -> bool:
    """Whether `schedule` has yet to send `due`'s period."""
    if not schedule.active:
        return False
    if due.send_at < schedule.created_at:
        return False
    return schedule.last_period_from is None or due.date_from > schedule.last_period_from


def next_run(
    schedule: ReportSchedule, now: dt.datetime, zone: zoneinfo.ZoneInfo
) -> dt.datetime | None:
    """When the sweep must next look at `schedule` (its `next_run_at`): the sending time
    of the period due at `now` if that one has yet to go out (already passed: at once),
    else the next period's (the next Monday or 1st, 09:00 in `zone`); None while
    paused. Needs `created_at` (a saved schedule)."""
    if not schedule.active:
        return None
    due = due_period(schedule.frequency, now, zone)
    if is_due(schedule, due):
        return due.send_at
    start = _next_start(schedule.frequency, due.date_to + dt.timedelta(days=1))
    return dt.datetime.combine(start, SEND_AT, tzinfo=zone)


def may_read_reports(user: User) -> bool:
    return user.active and any(role.value in user.roles for role in READER_ROLES)


def _invalid(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(f"{field}: {message}", field=field)


class ReportScheduleService(AuditedService[ReportSchedule]):
    """The tenant's report schedules; every change audited (`report_schedule.*`)."""

    model, entity, label = ReportSchedule, "report_schedule", "report schedule"

    def ordering(self) -> tuple[Any, ...]:
        return (ReportSchedule.created_at, ReportSchedule.id)

    async def snapshot(self, row: ReportSchedule) -> dict[str, Any]:
        values = fields_of(row, ("name", "frequency", "locale", "active"))
        values["recipients"] = [str(user_id) for user_id in row.recipients]
        return values

    async def _zone(self) -> zoneinfo.ZoneInfo:
        tenant = await self.session.get(Tenant, self.tenant())
        return zoneinfo.ZoneInfo(tenant.timezone if tenant else "UTC")

    async def readers(self) -> list[User]:
        """The staff who may receive reports (active admins, supervisors, viewers), by
        name."""
        users = await self.session.scalars(
            select(User).where(User.active.is_(True)).order_by(User.display_name, User.email)
        )
        return [user for user in users if may_read_reports(user)]

    async def recipient_ids(self, emails: Sequence[str]) -> list[uuid.UUID]:
        """The staff members named by e-mail address, in order (duplicates once); 422
        naming `recipients` for a text that is not an address or an address no staff
        member of the tenant has. Whether each may receive reports `create` and `update`
        check."""
        wanted = list(dict.fromkeys(email.strip().lower() for email in emails if email.strip()))
        if not wanted:
            raise _invalid("recipients", "name at least one staff member (e-mail address)")
        if len(wanted) > MAX_RECIPIENTS:
            raise _invalid("recipients", f"at most {MAX_RECIPIENTS} recipients")
        for email in wanted:
            if not _EMAIL.fullmatch(email):
                raise _invalid("recipients", f"{email!r} is not an e-mail address")
        # Addresses are stored lowercased (`User`).
        rows = await self.session.execute(select(User.email, User.id).where(User.email.in_(wanted)))
        found = {email: user_id for email, user_id in rows.all()}
        for email in wanted:
            if email not in found:
                raise _invalid("recipients", f"no staff member with the e-mail {email}")
        return [found[email] for email in wanted]

    async def _recipients(self, given: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        wanted = list(dict.fromkeys(given))
        if not wanted:
            raise _invalid("recipients", "name at least one staff member (user id)")
        if len(wanted) > MAX_RECIPIENTS:
            raise _invalid("recipients", f"at most {MAX_RECIPIENTS} recipients")
        users = {
            user.id: user
            for user in await self.session.scalars(select(User).where(User.id.in_(wanted)))
        }
        for index, user_id in enumerate(wanted):
            user = users.get(user_id)
            if user is None or not user.active:
                raise _invalid(f"recipients[{index}]", f"no active user {user_id} in this tenant")
            if not may_read_reports(user):
                raise _invalid(
                    f"recipients[{index}]",
                    f"{user.email} may not read reports (admins, supervisors and viewers may)",
                )
        return wanted

    async def users(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        """The tenant's users among `ids` (a schedule's recipients), by id."""
        found = await self.session.scalars(select(User).where(User.id.in_(list(ids))))
        return {user.id: user for user in found}

    @staticmethod
    def _name(value: str) -> str:
        name = value.strip()
        if len(name) > MAX_NAME:
            raise _invalid("name", f"at most {MAX_NAME} characters, got {len(name)}")
        return name

    @staticmethod
    def _checked(field: str, value: str, allowed: Sequence[str]) -> str:
        if value not in allowed:
            raise _invalid(field, f"one of {', '.join(allowed)}, got {value!r}")
        return value

    async def create(self, values: dict[str, Any]) -> ReportSchedule:
        locale = values.get("locale")
        if locale is None:
            tenant = await self.session.get(Tenant, self.tenant())
            locale = "en" if tenant is not None and tenant.locale.startswith("en") else "zh-CN"
        row = ReportSchedule(
            tenant_id=self.tenant(),
            id=new_id(),
            name=self._name(values.get("name", "")),
            frequency=self._checked("frequency", values["frequency"], FREQUENCIES),
            locale=self._checked("locale", locale, LOCALES),
            recipients=await self._recipients(values["recipients"]),
            active=values.get("active", True),
        )
        self.session.add(row)
        await self.session.flush()
        await self.session.refresh(row)  # created_at from the database's clock
        row.next_run_at = next_run(row, utcnow(), await self._zone())
        await self.session.flush()
        await self.audit_create(row)
        return row

    async def update(self, schedule_id: uuid.UUID, values: dict[str, Any]) -> ReportSchedule:
        row = await self.get(schedule_id)
        before = await self.snapshot(row)
        zone = await self._zone()
        if "name" in values:
            row.name = self._name(values["name"])
        if "frequency" in values:
            frequency = self._checked("frequency", values["frequency"], FREQUENCIES)
            if frequency != row.frequency:
                # Like a new schedule: the period already due under the new frequency
                # is not sent; the next one is.
                row.frequency = frequency
                row.last_period_from = due_period(frequency, utcnow(), zone).date_from
        if "locale" in values:
            row.locale = self._checked("locale", values["locale"], LOCALES)
        if "recipients" in values:
            row.recipients = await self._recipients(values["recipients"])
        if "active" in values:
            row.active = values["active"]
        row.next_run_at = next_run(row, utcnow(), zone)
        await self.audit_update(row, before)
        return row
