"""Building a business calendar checks every setting and names the one that cannot work."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from closeloop.sla.calendar import DEFAULT_WEEK_HOURS, BusinessCalendar, CalendarError, Interval


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "unknown time zone"),
        ({"timezone": "localtime"}, "timezone", "unknown time zone"),
        ({"country": "XX"}, "country", "unknown country code"),
        ({"country": "CN", "subdivision": "ZZ"}, "subdivision", "no subdivision"),
        ({"country": None, "subdivision": "BY"}, "subdivision", "needs a country"),
        ({"week_hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "week_hours.mon[1]", "overlaps"),
        ({"week_hours": {"tue": ["13:00-18:00", "09:00-13:30"]}}, "week_hours.tue[0]", "overlaps"),
        ({"week_hours": {"wed": ["18:00-09:00"]}}, "week_hours.wed[0]", "ends before"),
        ({"week_hours": {"thu": ["09:00-09:00"]}}, "week_hours.thu[0]", "ends before"),
        ({"week_hours": {"fri": ["9-12"]}}, "week_hours.fri[0]", "not a time range"),
        ({"week_hours": {"fri": ["25:00-26:00"]}}, "week_hours.fri[0]", "hours are 00-23"),
        ({"week_hours": {"fri": ["09:60-10:00"]}}, "week_hours.fri[0]", "hours are 00-23"),
        ({"week_hours": {"fri": ["23:00-24:30"]}}, "week_hours.fri[0]", "hours are 00-23"),
        ({"week_hours": {"monday": ["09:00-12:00"]}}, "week_hours.monday", "weekdays are"),
        ({"week_hours": {}}, "week_hours", "needs working hours"),
        (
            {"week_hours": {}, "extra_working_days": [dt.date(2026, 5, 6)]},
            "week_hours",
            "needs working hours",
        ),
        ({"workday_hours": ["12:00-10:00"]}, "workday_hours[0]", "ends before"),
        ({"workday_hours": []}, "workday_hours", "at least one range"),
        (
            {
                "extra_holidays": [dt.date(2026, 5, 6)],
                "extra_working_days": [dt.date(2026, 5, 6)],
            },
            "extra_working_days",
            "2026-05-06",
        ),
    ],
)
def test_a_setting_that_cannot_work_is_refused_by_name(
    settings: dict[str, Any], field: str, words: str
) -> None:
    arguments: dict[str, Any] = {"timezone": "Asia/Shanghai", "country": "CN", **settings}
    with pytest.raises(CalendarError) as caught:
        BusinessCalendar.build(**arguments)
    assert caught.value.field == field
    assert words in caught.value.message


def test_defaults_and_normal_forms() -> None:
    calendar = BusinessCalendar.build(timezone="Asia/Shanghai", country="cn")
    assert calendar.country == "CN"
    assert [[str(i) for i in day] for day in calendar.week] == list(DEFAULT_WEEK_HOURS.values())
    # Ranges may come in any order; they are kept sorted. 24:00 ends a day.
    late = BusinessCalendar.build(
        timezone="UTC", week_hours={"sat": ["20:00-24:00", "08:00-12:00"]}
    )
    assert late.week[5] == (Interval(480, 720), Interval(1200, 1440))
    assert str(late.week[5][1]) == "20:00-24:00"
    assert BusinessCalendar.build(timezone="UTC", country="DE", subdivision="BY").subdivision


def test_public_holidays_are_loaded_lazily_per_year() -> None:
    calendar = BusinessCalendar.build(timezone="Asia/Shanghai", country="CN")
    assert not calendar._cache
    assert calendar.is_holiday(dt.date(2026, 10, 1))
    assert ("year", 2026) in calendar._cache
    assert ("year", 2027) not in calendar._cache
    assert calendar.is_holiday(dt.date(2027, 1, 1))
    assert ("year", 2027) in calendar._cache


def test_a_calendar_without_a_country_has_no_public_holidays() -> None:
    calendar = BusinessCalendar.build(timezone="Asia/Shanghai", country=None)
    assert calendar.is_working_day(dt.date(2026, 10, 1))  # National Day, a Thursday
    assert not calendar.is_working_day(dt.date(2026, 2, 14))  # no substituted Saturday


def test_a_calendar_without_working_time_ahead_refuses_instead_of_looping() -> None:
    only_one_day = BusinessCalendar.build(
        timezone="UTC",
        week_hours={},
        workday_hours=["09:00-17:00"],
        extra_working_days=[dt.date(2026, 1, 5)],
    )
    assert only_one_day.add_business_time(
        dt.datetime(2026, 1, 5, 16, tzinfo=dt.UTC), dt.timedelta(hours=1)
    ) == dt.datetime(2026, 1, 5, 17, tzinfo=dt.UTC)
    start = dt.datetime(2026, 1, 6, tzinfo=dt.UTC)
    with pytest.raises(CalendarError, match="no working time"):
        only_one_day.add_business_time(start, dt.timedelta(hours=1))
