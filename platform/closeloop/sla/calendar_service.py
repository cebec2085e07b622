"""Tenant business calendars: stored, checked, audited, and loaded as `BusinessCalendar`.

* Every tenant has exactly one default calendar: the first one is the default, making
  another the default takes the flag from the old one (both changes audited), the
  default cannot be un-defaulted or deleted. A partial unique index holds "at most
  one" against concurrent requests.
* Settings are checked by `BusinessCalendar.build()`; a refusal is a 422 naming the
  field (`week_hours.mon[1]`, `country`, ...). Stored forms are normalized: ranges
  sorted, country upper-cased, dates sorted without repeats.
* `load(session, calendar_id=None)` gives the calendar to compute with (the default
  when no id), cached per (tenant, calendar, `updated_at`), so public holidays are
  computed once per calendar version and process.
"""

from __future__ import annotations

import collections
import threading
import uuid
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import diff, jsonable, record
from closeloop.config import current
from closeloop.crud import AuditedService
from closeloop.db import new_id, required_tenant
from closeloop.errors import Conflict, NotFound, UnprocessableEntity
from closeloop.logs import get_logger
from closeloop.sla.calendar import (
    DEFAULT_WEEK_HOURS,
    WEEKDAYS,
    BusinessCalendar,
    CalendarError,
)
from closeloop.sla.calendar_models import Calendar
from closeloop.sla.models import SlaPolicy
from closeloop.tenancy.models import Tenant

__all__ = [
    "DEFAULT_CALENDAR",
    "SETTINGS",
    "CalendarService",
    "business_calendar",
    "clear_cache",
    "clear_default_flag",
    "load",
    "seed_default_calendar",
    "snapshot",
]

log = get_logger(__name__)
current.watch(Calendar)

# The columns `BusinessCalendar.build()` reads.
SETTINGS = (
    "timezone",
    "country",
    "subdivision",
    "week_hours",
    "workday_hours",
    "extra_holidays",
    "extra_working_days",
)
FIELDS = ("code", "name", *SETTINGS, "is_default")
# Every new tenant's calendar: China's public holidays, Mon-Fri 09:00-12:00, 13:30-18:00,
# in the tenant's time zone.
DEFAULT_CALENDAR: dict[str, Any] = {
    "code": "default",
    "name": "工作日历 Business calendar",
    "country": "CN",
    "subdivision": None,
    "week_hours": DEFAULT_WEEK_HOURS,
    "workday_hours": None,
    "extra_holidays": [],
    "extra_working_days": [],
}
CACHE_SIZE = 512


def snapshot(row: Calendar) -> dict[str, Any]:
    return {name: getattr(row, name) for name in FIELDS}


def _invalid(error: CalendarError) -> UnprocessableEntity:
    return UnprocessableEntity(f"{error.field}: {error.message}", field=error.field)


def business_calendar(values: dict[str, Any] | Calendar) -> BusinessCalendar:
    """A checked `BusinessCalendar` from a row or its settings; `CalendarError` if not."""
    given = values if isinstance(values, dict) else snapshot(values)
    return BusinessCalendar.build(
        timezone=given["timezone"],
        week_hours=given.get("week_hours") or {},
        country=given.get("country"),
        subdivision=given.get("subdivision"),
        workday_hours=given.get("workday_hours"),
        extra_holidays=given.get("extra_holidays") or (),
        extra_working_days=given.get("extra_working_days") or (),
    )


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    """The settings as stored, after `BusinessCalendar.build()` accepted them."""
    try:
        calendar = business_calendar(values)
    except CalendarError as exc:
        raise _invalid(exc) from None
    return {
        "timezone": calendar.timezone,
        "country": calendar.country,
        "subdivision": calendar.subdivision,
        "week_hours": {
            day: [str(interval) for interval in hours]
            for day, hours in zip(WEEKDAYS, calendar.week, strict=True)
        },
        "workday_hours": (
            None
            if calendar.workday_hours is None
            else [str(interval) for interval in calendar.workday_hours]
        ),
        "extra_holidays": sorted(calendar.extra_holidays),
        "extra_working_days": sorted(calendar.extra_working_days),
    }


class CalendarService(AuditedService[Calendar]):
    """List, create, read, change and delete the bound tenant's calendars."""

    model, entity, label = Calendar, "calendar", "calendar"

    def ordering(self) -> tuple[Any, ...]:
        return (Calendar.is_default.desc(), Calendar.code)

    async def snapshot(self, row: Calendar) -> dict[str, Any]:
        return snapshot(row)

    async def create(self, values: dict[str, Any]) -> Calendar:
        values = dict(values)
        if await self.session.scalar(select(Calendar.id).where(Calendar.code == values["code"])):
            raise Conflict(
                f"a calendar with code {values['code']!r} exists already",
                field="code",
            )
        if values.get("timezone") is None:
            values["timezone"] = await _tenant_timezone(self.session, self.tenant())
        if values.get("week_hours") is None:
            values["week_hours"] = DEFAULT_WEEK_HOURS
        settings = _normalized(values)
        first = await self.session.scalar(select(Calendar.id).limit(1)) is None
        is_default = bool(values.get("is_default")) or first
        if is_default:
            await self._take_default_from_others()
        row = Calendar(
            tenant_id=self.tenant(),
            id=new_id(),
            code=values["code"],
            name=values["name"],
            is_default=is_default,
            **settings,
        )
        await self.insert(row, lambda exc: _conflict(exc, values))
        await self.audit_create(row)
        return row

    async def update(self, calendar_id: uuid.UUID, changes: dict[str, Any]) -> Calendar:
        row = await self.get(calendar_id)
        before = snapshot(row)
        if changes.get("is_default") is False and row.is_default:
            raise UnprocessableEntity(
                "is_default: a tenant always has a default calendar; make another calendar "
                "the default instead",
                field="is_default",
            )
        settings = _normalized({**before, **{k: v for k, v in changes.items() if k in SETTINGS}})
        wanted = {**settings, "name": changes.get("name", row.name)}
        if changes.get("is_default"):
            wanted["is_default"] = True
        old, new = diff({k: before[k] for k in wanted}, wanted)
        if not new:
            return row
        if wanted.get("is_default") and not row.is_default:
            await self._take_default_from_others()
        for name in new:
            setattr(row, name, wanted[name])
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise _conflict(exc, changes) from None
        await self.audit("update", row.id, before=old, after=new)
        return row

    def in_use(self, row: Calendar) -> Conflict:
        return Conflict(
            f"calendar {row.code!r} is still in use (an SLA policy names it); "
            "point those at another calendar first"
        )

    async def _take_default_from_others(self) -> None:
        await clear_default_flag(self.session, Calendar, actor=self.actor, entity_type="calendar")


def _conflict(exc: IntegrityError, values: dict[str, Any]) -> Conflict:
    """A unique violation that a concurrent request won the race for."""
    if "default" in str(exc.orig):
        return Conflict(
            "another request changed the default calendar at the same time; try again",
            field="is_default",
        )
    return Conflict(f"a calendar with code {values.get('code')!r} exists already", field="code")


async def _tenant_timezone(session: AsyncSession, tenant_id: uuid.UUID) -> str:
    timezone = await session.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id))
    return timezone or "Asia/Shanghai"


async def seed_default_calendar(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Give a tenant with no calendar the default one, in its own time zone. The session
    must be bound to `tenant_id` (as `seed_defaults()` does)."""
    if await session.scalar(select(func.count()).select_from(Calendar)):
        return
    values = jsonable(DEFAULT_CALENDAR)
    values["timezone"] = await _tenant_timezone(session, tenant_id)
    session.add(Calendar(tenant_id=tenant_id, id=new_id(), is_default=True, **values))
    await session.flush()


_Defaultable = TypeVar("_Defaultable", Calendar, SlaPolicy)


async def clear_default_flag(
    session: AsyncSession,
    model: type[_Defaultable],
    *,
    actor: str,
    entity_type: str,
) -> None:
    """Clear `is_default` on the bound tenant's current default row of `model` (flushed
    at once, for the unique index), audited as `<entity_type>.update`."""
    default = await session.scalar(select(model).where(model.is_default))
    if default is None:
        return
    default.is_default = False
    await session.flush()
    await record(
        session,
        actor=actor,
        action=f"{entity_type}.update",
        entity_type=entity_type,
        entity_id=default.id,
        before={"is_default": True},
        after={"is_default": False},
    )


# ---- loading for computation --------------------------------------------------------------

_cache: collections.OrderedDict[tuple[Any, ...], BusinessCalendar] = collections.OrderedDict()
_cache_lock = threading.Lock()


def _cached(key: tuple[Any, ...], make: Any) -> BusinessCalendar:
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    calendar: BusinessCalendar = make()
    with _cache_lock:
        _cache[key] = calendar
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return calendar


async def load(session: AsyncSession, calendar_id: uuid.UUID | None = None) -> BusinessCalendar:
    """The bound tenant's calendar `calendar_id`, or its default calendar when None.

    A tenant without any calendar (created before calendars existed and never
    re-seeded) computes with the default settings in its time zone, unsaved."""
    tenant_id = required_tenant(session, "load()")

    async def read() -> Calendar | None:
        if calendar_id is None:
            return await session.scalar(select(Calendar).where(Calendar.is_default))
        return await session.get(Calendar, (tenant_id, calendar_id))

    row = await current.shared(session, ("calendar", calendar_id), read)
    if row is None and calendar_id is not None:
        raise NotFound("no such calendar")
    if row is None:
        timezone = await _tenant_timezone(session, tenant_id)
        log.warning("tenant has no calendar; using the default settings", tenant_id=tenant_id)
        return _cached(
            (tenant_id, None, timezone),
            lambda: business_calendar({**DEFAULT_CALENDAR, "timezone": timezone}),
        )
    stored = row
    return _cached((tenant_id, stored.id, stored.updated_at), lambda: business_calendar(stored))


def clear_cache() -> None:
    """Forget every loaded calendar (tests; a process that changed rows behind the ORM)."""
    with _cache_lock:
        _cache.clear()
