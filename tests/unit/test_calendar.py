"""Business calendar arithmetic: working days and business hours, exact to the minute,
across lunch breaks, midnight, weekends, China's public holidays and substituted
working days, a tenant's own holidays, and DST transitions."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest

from closeloop.sla.calendar import WEEKDAYS, BusinessCalendar

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)

# The default calendar every tenant starts with: China, Mon-Fri 09:00-12:00, 13:30-18:00.
CHINA = BusinessCalendar.build(timezone="Asia/Shanghai", country="CN")
ALWAYS_BERLIN = BusinessCalendar.build(
    timezone="Europe/Berlin", week_hours={day: ["00:00-24:00"] for day in WEEKDAYS}
)


def sh(text: str) -> dt.datetime:
    """`"2026-02-13 17:30"` in Shanghai."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def at(zone: zoneinfo.ZoneInfo, text: str, fold: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


# ---- N working days ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # "Contact within 1 working day", case opened Friday 17:30: next working day 17:30.
        ("2026-03-06 17:30", 1, "2026-03-09 17:30"),
        ("2026-03-06 17:30", 5, "2026-03-13 17:30"),
        ("2026-03-09 10:15", 1, "2026-03-10 10:15"),
        ("2026-03-09 10:15", 0, "2026-03-09 10:15"),
        # A start outside working hours rolls to the next working moment first.
        ("2026-03-06 19:00", 1, "2026-03-10 09:00"),  # Fri evening -> Mon 09:00 -> Tue 09:00
        ("2026-03-07 11:00", 1, "2026-03-10 09:00"),  # Saturday
        ("2026-03-09 07:00", 1, "2026-03-10 09:00"),  # before opening
        ("2026-03-09 12:40", 1, "2026-03-10 13:30"),  # in the lunch break
        ("2026-03-06 19:00", 0, "2026-03-09 09:00"),
        # 2026 Spring Festival: 02-15 (Sun) .. 02-23 (Mon) off; Saturdays 02-14 and
        # 02-28 are substituted working days with a weekday's hours.
        ("2026-02-13 17:30", 1, "2026-02-14 17:30"),
        ("2026-02-13 17:30", 2, "2026-02-24 17:30"),
        ("2026-02-13 17:30", 3, "2026-02-25 17:30"),
        ("2026-02-14 10:00", 1, "2026-02-24 10:00"),
        ("2026-02-27 16:00", 1, "2026-02-28 16:00"),
        ("2026-02-27 16:00", 2, "2026-03-02 16:00"),
        # A follow-up 3-5 working days after a resolution on the eve of the holiday.
        ("2026-02-13 11:00", 3, "2026-02-25 11:00"),
        ("2026-02-13 11:00", 5, "2026-02-27 11:00"),
        # National Day 2026: 10-01..10-07 off (10-03 Sat, 10-04 Sun), 10-10 (Sat) works.
        ("2026-09-30 09:30", 1, "2026-10-08 09:30"),
        ("2026-10-09 17:59", 1, "2026-10-10 17:59"),
    ],
)
def test_working_days(start: str, days: int, due: str) -> None:
    assert CHINA.add_working_days(sh(start), days) == sh(due)
    assert CHINA.add(sh(start), days, "working_days") == sh(due)


def test_the_substituted_saturday_is_a_working_day_as_holidays_says() -> None:
    assert CHINA.is_working_day(dt.date(2026, 2, 14))
    assert CHINA.is_working_day(dt.date(2026, 2, 28))
    assert not CHINA.is_working_day(dt.date(2026, 3, 7))  # an ordinary Saturday
    for day in range(15, 24):
        assert not CHINA.is_working_day(dt.date(2026, 2, day)), f"2026-02-{day}"
    assert CHINA.is_holiday(dt.date(2026, 2, 17))
    # Monday's hours, lunch break included.
    assert [(s.time(), e.time()) for s, e in CHINA.working_intervals(dt.date(2026, 2, 14))] == [
        (dt.time(9), dt.time(12)),
        (dt.time(13, 30), dt.time(18)),
    ]


def test_a_tenants_extra_holiday_moves_the_due_time() -> None:
    closed = BusinessCalendar.build(
        timezone="Asia/Shanghai", country="CN", extra_holidays=[dt.date(2026, 3, 9)]
    )
    assert CHINA.add_working_days(sh("2026-03-06 17:30"), 1) == sh("2026-03-09 17:30")
    assert closed.add_working_days(sh("2026-03-06 17:30"), 1) == sh("2026-03-10 17:30")
    assert closed.add_business_time(sh("2026-03-06 17:00"), 2 * H) == sh("2026-03-10 10:00")


def test_a_tenants_extra_working_day_counts_even_on_a_public_holiday() -> None:
    open_on_eve = BusinessCalendar.build(
        timezone="Asia/Shanghai",
        country="CN",
        extra_working_days=[dt.date(2026, 2, 16), dt.date(2026, 3, 7)],
        workday_hours=["10:00-16:00"],
    )
    # Saturday 02-14 works 10:00-16:00, Monday 02-16 its own 09:00-12:00, 13:30-18:00.
    assert open_on_eve.add_working_days(sh("2026-02-14 11:00"), 1) == sh("2026-02-16 10:00")
    # A Saturday has no hours of its own, so it works the configured workday hours.
    assert open_on_eve.add_business_time(sh("2026-03-06 17:30"), H) == sh("2026-03-07 10:30")
    # ... and so does the public substituted Saturday.
    assert open_on_eve.add_business_time(sh("2026-02-13 17:30"), H) == sh("2026-02-14 10:30")


def test_a_shorter_target_day_gives_its_close() -> None:
    short_friday = BusinessCalendar.build(
        timezone="Asia/Shanghai",
        week_hours={
            **{day: ["09:00-12:00", "13:30-18:00"] for day in WEEKDAYS[:4]},
            "fri": ["09:00-12:00"],
        },
    )
    assert short_friday.add_working_days(sh("2026-03-05 17:00"), 1) == sh("2026-03-06 12:00")
    assert short_friday.add_working_days(sh("2026-03-05 11:00"), 1) == sh("2026-03-06 11:00")


# ---- business hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        ("2026-03-09 09:00", 1 * H, "2026-03-09 10:00"),
        ("2026-03-09 11:30", 1 * H, "2026-03-09 14:00"),  # the lunch break is skipped
        ("2026-03-09 12:15", 1 * H, "2026-03-09 14:30"),  # a start in the break waits
        ("2026-03-09 17:00", 1 * H, "2026-03-09 18:00"),  # ends at the close, not tomorrow
        ("2026-03-09 17:00", 1 * H + M, "2026-03-10 09:01"),  # across midnight
        ("2026-03-06 17:30", 2 * H, "2026-03-09 10:30"),  # across the weekend
        ("2026-03-06 17:30", 24 * H, "2026-03-12 10:00"),  # 0.5 + 3 x 7.5 + 1 hours
        ("2026-03-09 20:00", 4 * H, "2026-03-10 14:30"),
        ("2026-03-09 20:00", dt.timedelta(0), "2026-03-10 09:00"),
        ("2026-03-09 10:00", dt.timedelta(0), "2026-03-09 10:00"),
        ("2026-02-13 17:00", 2 * H, "2026-02-14 10:00"),  # onto the substituted Saturday
        ("2026-02-14 17:00", 2 * H, "2026-02-24 10:00"),  # over the Spring Festival
        ("2026-03-09 09:00:30", 59 * M, "2026-03-09 09:59:30"),  # seconds are kept
    ],
)
def test_business_time(start: str, duration: dt.timedelta, due: str) -> None:
    assert CHINA.add_business_time(sh(start), duration) == sh(due)
    assert CHINA.add(sh(start), duration, "business") == sh(due)


def test_a_night_shift_runs_on_across_midnight() -> None:
    nights = BusinessCalendar.build(
        timezone="Asia/Shanghai",
        week_hours={day: ["00:00-06:00", "22:00-24:00"] for day in WEEKDAYS},
    )
    assert nights.add_business_time(sh("2026-03-09 23:00"), 2 * H) == sh("2026-03-10 01:00")
    assert nights.add_business_time(sh("2026-03-09 12:00"), 3 * H) == sh("2026-03-10 01:00")
    assert nights.is_working_time(sh("2026-03-10 00:00"))
    assert not nights.is_working_time(sh("2026-03-10 06:00"))
    assert nights.business_time_between(sh("2026-03-09 21:00"), sh("2026-03-10 07:00")) == 8 * H


def test_working_time_and_the_next_working_moment() -> None:
    assert CHINA.is_working_time(sh("2026-03-09 09:00"))
    assert not CHINA.is_working_time(sh("2026-03-09 12:00"))  # intervals are half-open
    assert not CHINA.is_working_time(sh("2026-03-09 18:00"))
    assert not CHINA.is_working_time(sh("2026-02-17 10:00"))
    assert CHINA.next_working_moment(sh("2026-03-09 12:00")) == sh("2026-03-09 13:30")
    assert CHINA.next_working_moment(sh("2026-03-09 10:07")) == sh("2026-03-09 10:07")
    assert CHINA.next_working_moment(sh("2026-02-14 18:00")) == sh("2026-02-24 09:00")
    # Another zone in, the calendar's zone out, the same instant.
    utc = dt.datetime(2026, 3, 9, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
    moment = CHINA.next_working_moment(utc)
    assert moment == sh("2026-03-09 13:30")
    assert moment.tzinfo == SHANGHAI


def test_calendar_time_is_elapsed_time() -> None:
    assert CHINA.add(sh("2026-03-06 17:30"), 24 * H, "calendar") == sh("2026-03-07 17:30")
    # Over the spring-forward night in Berlin 24 hours later reads 13:00 on the clock.
    berlin = BusinessCalendar.build(timezone="Europe/Berlin", country="DE")
    start = at(BERLIN, "2026-03-28 12:00")
    assert berlin.add(start, 24 * H, "calendar") == at(BERLIN, "2026-03-29 13:00")


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="aware"):
        CHINA.add_business_time(dt.datetime(2026, 3, 9, 9), H)
    with pytest.raises(ValueError, match=">= 0"):
        CHINA.add_business_time(sh("2026-03-09 09:00"), -H)
    with pytest.raises(ValueError, match=">= 0"):
        CHINA.add_working_days(sh("2026-03-09 09:00"), -1)
    with pytest.raises(TypeError):
        CHINA.add(sh("2026-03-09 09:00"), H, "working_days")
    with pytest.raises(TypeError):
        CHINA.add(sh("2026-03-09 09:00"), 3, "business")
    with pytest.raises(ValueError, match="unit"):
        CHINA.add(sh("2026-03-09 09:00"), H, "fortnights")  # type: ignore[arg-type]


# ---- DST -----------------------------------------------------------------------------------


def test_spring_forward_day_has_23_working_hours_around_the_clock() -> None:
    # Europe/Berlin, 2026-03-29: 02:00 CET -> 03:00 CEST.
    day = dt.date(2026, 3, 29)
    ((start, end),) = ALWAYS_BERLIN.working_intervals(day)
    assert utc(end) - utc(start) == 23 * H  # aware datetimes of one zone subtract as wall times
    sat_noon = at(BERLIN, "2026-03-28 12:00")
    assert ALWAYS_BERLIN.add_business_time(sat_noon, 24 * H) == at(BERLIN, "2026-03-29 13:00")
    assert ALWAYS_BERLIN.add_business_time(at(BERLIN, "2026-03-29 01:30"), H) == at(
        BERLIN, "2026-03-29 03:30"
    )
    # A working day keeps its wall-clock offset: Saturday noon + 1 is Sunday noon.
    assert ALWAYS_BERLIN.add_working_days(sat_noon, 1) == at(BERLIN, "2026-03-29 12:00")
    between = ALWAYS_BERLIN.business_time_between(sat_noon, at(BERLIN, "2026-03-29 12:00"))
    assert between == 23 * H


def test_fall_back_day_has_25_working_hours_around_the_clock() -> None:
    # Europe/Berlin, 2026-10-25: 03:00 CEST -> 02:00 CET, 02:00-03:00 happens twice.
    day = dt.date(2026, 10, 25)
    ((start, end),) = ALWAYS_BERLIN.working_intervals(day)
    assert utc(end) - utc(start) == 25 * H
    sat_noon = at(BERLIN, "2026-10-24 12:00")
    assert ALWAYS_BERLIN.add_business_time(sat_noon, 24 * H) == at(BERLIN, "2026-10-25 11:00")
    first_half_past_two = at(BERLIN, "2026-10-25 02:30", fold=0)
    second = ALWAYS_BERLIN.add_business_time(first_half_past_two, H)
    assert utc(second) == utc(at(BERLIN, "2026-10-25 02:30", fold=1))
    assert (second.hour, second.minute, second.utcoffset()) == (2, 30, H)  # the second 02:30
    assert ALWAYS_BERLIN.add_working_days(sat_noon, 1) == at(BERLIN, "2026-10-25 12:00")


@pytest.mark.parametrize(
    ("hours", "spring", "autumn"),
    [
        (["00:00-06:00"], 5 * H, 7 * H),  # the night shift loses or gains the hour
        (["01:00-05:00"], 3 * H, 5 * H),
        (["02:30-04:00"], 1 * H, 2 * H + 30 * M),  # opens when the clocks jump to 03:00
        (["02:15-02:45"], dt.timedelta(0), 1 * H + 30 * M),  # never happens in spring
        (["09:00-18:00"], 9 * H, 9 * H),  # office hours do not notice
    ],
)
def test_intervals_on_dst_nights(
    hours: list[str], spring: dt.timedelta, autumn: dt.timedelta
) -> None:
    sundays = BusinessCalendar.build(timezone="Europe/Berlin", week_hours={"sun": hours})

    def length(day: dt.date) -> dt.timedelta:
        return sum((utc(e) - utc(s) for s, e in sundays.working_intervals(day)), dt.timedelta(0))

    assert length(dt.date(2026, 3, 29)) == spring
    assert length(dt.date(2026, 10, 25)) == autumn
    assert sundays.is_working_day(dt.date(2026, 3, 29)) == bool(spring)


def test_office_hours_across_a_dst_weekend_in_new_york() -> None:
    # America/New_York springs forward on Sunday 2026-03-08; US federal holidays apply.
    office = BusinessCalendar.build(
        timezone="America/New_York",
        country="US",
        week_hours={day: ["09:00-17:00"] for day in WEEKDAYS[:5]},
    )
    friday = at(NEW_YORK, "2026-03-06 16:00")
    due = office.add_business_time(friday, 2 * H)
    assert due == at(NEW_YORK, "2026-03-09 10:00")
    assert due.utcoffset() == -4 * H  # EDT
    assert office.add_working_days(friday, 1) == at(NEW_YORK, "2026-03-09 16:00")
    # Memorial Day, Monday 2026-05-25.
    assert office.add_working_days(at(NEW_YORK, "2026-05-22 10:00"), 1) == at(
        NEW_YORK, "2026-05-26 10:00"
    )


# ---- business_time_between is the inverse of add_business_time ----------------------------


@pytest.mark.parametrize("calendar", [CHINA, ALWAYS_BERLIN], ids=["china", "berlin-24h"])
def test_business_time_between_inverts_add_business_time(calendar: BusinessCalendar) -> None:
    rng = random.Random(20260213)
    zone = calendar.zone
    origin = dt.datetime(2026, 1, 1, tzinfo=zone)
    for _ in range(300):
        start = origin + dt.timedelta(minutes=rng.randrange(366 * 24 * 60))
        duration = dt.timedelta(minutes=rng.randrange(0, 60 * 60))
        due = calendar.add_business_time(start, duration)
        assert calendar.business_time_between(start, due) == duration, (start, duration)
        assert calendar.business_time_between(due, start) == -duration
        if duration:
            assert calendar.is_working_time(due - dt.timedelta(seconds=1))


def test_paused_business_time_moves_a_due_time_exactly() -> None:
    # Waiting on the customer from Friday 16:00 to Tuesday 10:30 pauses 2 + 7.5 + 1.5 h.
    paused = CHINA.business_time_between(sh("2026-03-06 16:00"), sh("2026-03-10 10:30"))
    assert paused == 11 * H
    due = sh("2026-03-06 17:00")
    assert CHINA.add_business_time(due, paused) == sh("2026-03-10 11:30")
