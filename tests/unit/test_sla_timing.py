"""Clock arithmetic without a database: due times per unit, the follow-up window, ladder
thresholds counted in the clock's own measure, and how pauses move them."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from closeloop.sla.calendar import BusinessCalendar
from closeloop.sla.defaults import DEFAULT_POLICIES
from closeloop.sla.timing import (
    TARGETS,
    advance,
    due_for,
    measured,
    percent_elapsed,
    threshold_at,
)

ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
CALENDAR = BusinessCalendar.build(timezone="Asia/Shanghai", country="CN")
HOUR = dt.timedelta(hours=1)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZONE)  # type: ignore[misc]


MONDAY_10 = at(2026, 11, 16, 10, 0)
FRIDAY_EVENING = at(2026, 11, 20, 19, 30)


@pytest.mark.parametrize(
    ("spec", "start", "due", "span"),
    [
        ({"unit": "calendar", "hours": 24}, FRIDAY_EVENING, at(2026, 11, 21, 19, 30), 24 * HOUR),
        ({"unit": "business", "hours": 4}, FRIDAY_EVENING, at(2026, 11, 23, 14, 30), 4 * HOUR),
        ({"unit": "business", "hours": 6}, MONDAY_10, at(2026, 11, 16, 17, 30), 6 * HOUR),
        ({"unit": "working_days", "days": 1}, FRIDAY_EVENING, at(2026, 11, 24, 9, 0), 7.5 * HOUR),
        ({"unit": "working_days", "days": 1}, at(2026, 11, 20, 17, 30), at(2026, 11, 23, 17, 30),
         7.5 * HOUR),
    ],
)  # fmt: skip
def test_due_times_per_unit(
    spec: dict[str, object], start: dt.datetime, due: dt.datetime, span: dt.timedelta
) -> None:
    got_due, got_span, opens = due_for(CALENDAR, spec, start)
    assert (got_due, got_span, opens) == (due, span, None)


def test_the_followup_window_opens_and_closes_in_working_days() -> None:
    spec = {"unit": "working_days", "days": 5, "earliest_days": 3}
    due, _, opens = due_for(CALENDAR, spec, MONDAY_10)
    assert (opens, due) == (at(2026, 11, 19, 10, 0), at(2026, 11, 23, 10, 0))


def test_percent_thresholds_count_working_time_only() -> None:
    spec = {"unit": "business", "hours": 10}
    due, span, _ = due_for(CALENDAR, spec, MONDAY_10)
    assert due == at(2026, 11, 17, 14, 0)  # 6.5 h on Monday, 3.5 h on Tuesday, lunch skipped
    half = threshold_at(
        CALENDAR, "business", trigger="percent", threshold=50, started_at=MONDAY_10,
        due_at=due, span=span, now=MONDAY_10,
    )  # fmt: skip
    assert half == at(2026, 11, 16, 16, 30)  # 5 working hours: 10-12 and 13:30-16:30
    assert percent_elapsed(CALENDAR, "business", due_at=due, span=span, now=half) == 50
    # Reached already: a threshold at or before `now`.
    later = at(2026, 11, 17, 9, 0)
    reached = threshold_at(
        CALENDAR, "business", trigger="percent", threshold=50, started_at=MONDAY_10,
        due_at=due, span=span, now=later,
    )  # fmt: skip
    assert reached <= later


def test_a_pause_moves_the_due_time_and_the_thresholds_by_the_paused_time() -> None:
    spec = {"unit": "business", "hours": 10}
    due, span, _ = due_for(CALENDAR, spec, MONDAY_10)
    paused_at, resumed_at = at(2026, 11, 16, 11, 0), at(2026, 11, 16, 15, 0)
    paused = measured(CALENDAR, "business", paused_at, resumed_at)
    assert paused == 2.5 * HOUR  # 11:00-12:00 and 13:30-15:00
    moved = advance(CALENDAR, "business", due, paused)
    assert CALENDAR.business_time_between(due, moved) == paused
    half = threshold_at(
        CALENDAR, "business", trigger="percent", threshold=50, started_at=MONDAY_10,
        due_at=moved, span=span, now=resumed_at,
    )  # fmt: skip
    # One hour ran before the pause: four more after it.
    assert CALENDAR.business_time_between(resumed_at, half) == 4 * HOUR


def test_breach_and_age_thresholds_are_elapsed_hours() -> None:
    due = at(2026, 11, 20, 17, 0)
    kwargs = {"started_at": MONDAY_10, "due_at": due, "span": HOUR, "now": MONDAY_10}
    assert threshold_at(CALENDAR, "business", trigger="breach", threshold=0, **kwargs) == due  # type: ignore[arg-type]
    assert (
        threshold_at(CALENDAR, "business", trigger="after_breach", threshold=24, **kwargs)  # type: ignore[arg-type]
        == due + 24 * HOUR
    )
    assert (
        threshold_at(CALENDAR, "business", trigger="age", threshold=720, **kwargs)  # type: ignore[arg-type]
        == MONDAY_10 + 30 * 24 * HOUR
    )


def test_the_default_policies_make_every_promise_of_the_practice() -> None:
    default = next(p for p in DEFAULT_POLICIES if p.get("is_default"))
    assert set(default["targets"]) == set(TARGETS)
    for policy in DEFAULT_POLICIES:
        for level in policy["levels"]:
            assert level["target"] in policy["targets"], (policy["code"], level)
