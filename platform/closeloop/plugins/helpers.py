"""Small readers plugin authors need again and again: a field of a case given as a
struct or a dict, a date from whatever a customer typed, and the local date of a
moment in the tenant's time zone (entitlement windows count local calendar days)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

__all__ = ["field", "local_date", "parse_date"]


def field(obj: Any, name: str) -> Any:
    """`obj.name` or `obj[name]`: the core hands msgspec structs, tests may hand dicts."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def parse_date(value: Any) -> dt.date | None:
    """A date from a date, a datetime or ISO text; None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def local_date(moment: Any, timezone: str | None) -> dt.date:
    """The calendar date of `moment` in `timezone` (a naive time is taken as UTC)."""
    zone = zoneinfo.ZoneInfo(timezone or "UTC")
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if not isinstance(moment, dt.datetime):
        return dt.datetime.now(zone).date()
    aware: dt.datetime = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone).date()
