"""Clock arithmetic: due times, thresholds and paused time, on a `BusinessCalendar`.

Pure functions, no database. A target (`spec`) is one of

* `{"unit": "calendar", "hours": 24}`: elapsed time, whatever the calendar says;
* `{"unit": "business", "hours": 6}`: working time of the calendar;
* `{"unit": "working_days", "days": 1}`: the same working-hour offset N working days
  on (`BusinessCalendar.add_working_days`); the follow-up window also has
  `"earliest_days"`, the start of the window.

A clock counts in its *measure*: business time for `business` and `working_days`
targets, elapsed time for `calendar` ones. Pausing and percentages use that measure:
a clock paused for 2 working hours has its due time moved by exactly 2 working hours,
and "80 % elapsed" means 80 % of the target's working time has gone by.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, get_args

from closeloop.sla.calendar import BusinessCalendar

__all__ = [
    "REPEATING",
    "TARGETS",
    "TRIGGERS",
    "UNITS",
    "Measure",
    "TargetName",
    "advance",
    "due_for",
    "measure_of",
    "measured",
    "percent_elapsed",
    "threshold_at",
]

# Every promise a policy can make, in the order of a case's life.
TargetName = Literal[
    "first_response",
    "customer_update",
    "resolution",
    "customer_contact",
    "first_feedback",
    "followup",
    "second_handling",
]
TARGETS: tuple[TargetName, ...] = get_args(TargetName)
# Targets that start again after each contact (the customer update every N hours).
REPEATING = frozenset({"customer_update"})
UNITS = ("calendar", "business", "working_days")
TRIGGERS = ("percent", "breach", "after_breach", "age")
Measure = Literal["business", "elapsed"]
_ZERO = dt.timedelta(0)


def measure_of(unit: str) -> Measure:
    return "elapsed" if unit == "calendar" else "business"


def measured(calendar: BusinessCalendar, unit: str, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Time from `a` to `b` in the measure of `unit` (negative when `b` is earlier)."""
    if measure_of(unit) == "elapsed":
        return b - a
    return calendar.business_time_between(a, b)


def advance(
    calendar: BusinessCalendar, unit: str, start: dt.datetime, delta: dt.timedelta
) -> dt.datetime:
    """`start` plus `delta` (>= 0) in the measure of `unit`."""
    if measure_of(unit) == "elapsed":
        return start + delta
    return calendar.add_business_time(start, delta)


def due_for(
    calendar: BusinessCalendar, spec: dict[str, Any], start: dt.datetime
) -> tuple[dt.datetime, dt.timedelta, dt.datetime | None]:
    """(due time, span in the clock's measure, window opening or None) of `spec` from `start`."""
    unit = spec["unit"]
    opens_at = None
    if unit == "working_days":
        due = calendar.add_working_days(start, int(spec["days"]))
        if spec.get("earliest_days") is not None:
            opens_at = calendar.add_working_days(start, int(spec["earliest_days"]))
    else:
        due = calendar.add(start, dt.timedelta(hours=float(spec["hours"])), unit)
    span = measured(calendar, unit, start, due)
    return due, max(span, _ZERO), opens_at


def percent_elapsed(
    calendar: BusinessCalendar,
    unit: str,
    *,
    due_at: dt.datetime,
    span: dt.timedelta,
    now: dt.datetime,
) -> int:
    """How much of a running clock's target has gone by at `now`, in whole percent."""
    if span <= _ZERO:
        return 100
    remaining = measured(calendar, unit, now, due_at)
    return int(100 * (span - remaining) / span)


def threshold_at(
    calendar: BusinessCalendar,
    unit: str,
    *,
    trigger: str,
    threshold: int,
    started_at: dt.datetime,
    due_at: dt.datetime,
    span: dt.timedelta,
    now: dt.datetime,
) -> dt.datetime:
    """When a ladder level's trigger is reached for a running clock; a time at or before
    `now` means it is reached already.

    * `percent` p: p % of the target's span has elapsed. Counted back from the due time
      (which pauses have moved), so paused time never counts;
    * `breach`: the due time;
    * `after_breach` h: h hours (elapsed) after the due time;
    * `age` h: h hours (elapsed) after the clock started (e.g. "a month unresolved").
    """
    if trigger == "breach":
        return due_at
    if trigger == "after_breach":
        return due_at + dt.timedelta(hours=threshold)
    if trigger == "age":
        return started_at + dt.timedelta(hours=threshold)
    if trigger != "percent":
        raise ValueError(f"unknown trigger {trigger!r}")
    still_to_run = span * (100 - threshold) / 100
    wait = measured(calendar, unit, now, due_at) - still_to_run
    if wait <= _ZERO:
        return now
    return advance(calendar, unit, now, wait)
