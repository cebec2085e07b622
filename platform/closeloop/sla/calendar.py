"""Business calendars: when a tenant works, and time counted in working time.

Pure arithmetic, no database: `BusinessCalendar` is built from a time zone, working
hours per weekday (intervals, with breaks between them), public holidays from the
`holidays` package, and the tenant's own extra holidays and working days.

Which hours a local date has, first rule that applies:

1. a tenant extra holiday: none;
2. a tenant extra working day, or a public substituted working day (China's 调休: a
   Saturday or Sunday that `holidays` lists in `weekend_workdays`): the weekday's own
   hours, or when that weekday has none, `workday_hours` (else the hours of the first
   weekday that has some, i.e. usually Monday's);
3. a public holiday: none;
4. otherwise the weekday's hours.

Intervals are half-open (`09:00-12:00` works at 09:00 and 11:59, not at 12:00) and stay
within their day (`24:00` ends one at midnight; a night shift is `22:00-24:00` on one
day and `00:00-06:00` on the next, and time runs on across midnight). They are wall
times in the calendar's zone, turned into instants with zoneinfo: a wall time that
does not exist (the hour skipped when clocks go forward) is the moment the clocks
jump; one that happens twice (clocks go back) starts an interval at its first and
ends one at its second occurrence. So a shift of 00:00-06:00 lasts 5 hours on the
spring-forward night and 7 hours on the fall-back night.

Operations take aware datetimes and return them in the calendar's zone:

* `add_business_time(start, duration)`: counts only working time; a start outside
  working hours begins at the next working moment. A due time that ends exactly at
  the close of an interval is that close (17:00 + 1 h with hours to 18:00 is 18:00).
* `add_working_days(start, n)`: "N working days". The start first rolls to the next
  working moment (Friday 19:00 counts as Monday 09:00); the due time is then the
  same working-hour offset (working wall-clock time since the day's opening) on the
  Nth next working day, e.g. Friday 17:30 + 1 is Monday 17:30 with Mon-Fri hours.
  When that day has fewer working hours than the offset, it is the day's close.
* `business_time_between(a, b)`: working time elapsed from `a` to `b` (negative when
  `b` is before `a`); `between(s, add_business_time(s, d)) == d` for `d >= 0`.
* `is_working_time(t)`, `next_working_moment(t)`, `working_intervals(day)`.
* `add(start, amount, unit)`: `business` and `calendar` take a timedelta (calendar time
  is elapsed time: 24 h later by the clock of the universe, whatever DST does),
  `working_days` an int.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Literal

import holidays

__all__ = [
    "DEFAULT_WEEK_HOURS",
    "WEEKDAYS",
    "BusinessCalendar",
    "CalendarError",
    "Interval",
    "TimeUnit",
    "check_country",
    "check_timezone",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEK_HOURS: dict[str, list[str]] = {
    **{day: ["09:00-12:00", "13:30-18:00"] for day in WEEKDAYS[:5]},
    "sat": [],
    "sun": [],
}
TimeUnit = Literal["business", "calendar", "working_days"]
MINUTES_PER_DAY = 24 * 60
# A calendar with no working time for this long is broken; refuse rather than loop.
MAX_IDLE_DAYS = 3 * 366
_UTC = dt.UTC
_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class CalendarError(ValueError):
    """A calendar that cannot work; `field` names the setting (`week_hours.mon[1]`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True, order=True)
class Interval:
    """Working time within one day, in minutes after midnight: [start, end)."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str, *, field: str) -> Interval:
        """`"09:00-12:00"`; the end may be `24:00`. Raises `CalendarError` naming `field`."""
        match = _RANGE.match(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise CalendarError(field, f"{text!r} is not a time range such as '09:00-12:00'")
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2 != 0):
            raise CalendarError(field, f"{text!r}: hours are 00-23 (an end may be 24:00)")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise CalendarError(field, f"{text!r} ends before it starts")
        return cls(start, end)

    @property
    def length(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _intervals(texts: Sequence[str], *, field: str) -> tuple[Interval, ...]:
    """Parse, sort and refuse overlaps; the error names the offending entry."""
    parsed = [(Interval.parse(text, field=f"{field}[{i}]"), i) for i, text in enumerate(texts)]
    parsed.sort()
    for (before, _), (after, index) in itertools.pairwise(parsed):
        if after.start < before.end:
            raise CalendarError(f"{field}[{index}]", f"{after} overlaps {before}")
    return tuple(interval for interval, _ in parsed)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def check_timezone(name: str, *, field: str = "timezone") -> zoneinfo.ZoneInfo:
    if name not in _time_zones():
        raise CalendarError(field, f"unknown time zone {name!r}; use an IANA name")
    return zoneinfo.ZoneInfo(name)


def check_country(country: str | None, subdivision: str | None) -> None:
    """Refuse a country `holidays` does not know, or a subdivision it lacks."""
    if country is None:
        if subdivision is not None:
            raise CalendarError("subdivision", "a subdivision needs a country")
        return
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise CalendarError(
            "country", f"unknown country code {country!r}; use an ISO 3166 code such as 'CN'"
        )
    if subdivision is not None:
        try:
            holidays.country_holidays(country, subdiv=subdivision, years=2026)
        except NotImplementedError:
            known = ", ".join(supported[country]) or "none"
            raise CalendarError(
                "subdivision", f"{country} has no subdivision {subdivision!r} (known: {known})"
            ) from None


@dataclasses.dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """One tenant calendar; build it with `BusinessCalendar.build()` (which checks it)."""

    timezone: str
    week: tuple[tuple[Interval, ...], ...]  # Monday first, 7 entries
    country: str | None = None
    subdivision: str | None = None
    workday_hours: tuple[Interval, ...] | None = None
    extra_holidays: frozenset[dt.date] = frozenset()
    extra_working_days: frozenset[dt.date] = frozenset()
    # Per year and per day, filled as dates are asked for.
    _cache: dict[Any, Any] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def build(
        cls,
        *,
        timezone: str,
        week_hours: Mapping[str, Sequence[str]] | None = None,
        country: str | None = None,
        subdivision: str | None = None,
        workday_hours: Sequence[str] | None = None,
        extra_holidays: Iterable[dt.date] = (),
        extra_working_days: Iterable[dt.date] = (),
    ) -> BusinessCalendar:
        """A checked calendar; `CalendarError` names the first setting that cannot work.
        `week_hours` maps `mon`..`sun` to time ranges; a day left out has no hours."""
        check_timezone(timezone)
        hours = DEFAULT_WEEK_HOURS if week_hours is None else week_hours
        for name in hours:
            if name not in WEEKDAYS:
                raise CalendarError(
                    f"week_hours.{name}", f"weekdays are {', '.join(WEEKDAYS)}, not {name!r}"
                )
        week = tuple(_intervals(hours.get(day, ()), field=f"week_hours.{day}") for day in WEEKDAYS)
        substitute = (
            None if workday_hours is None else _intervals(workday_hours, field="workday_hours")
        )
        if substitute == ():
            raise CalendarError("workday_hours", "give at least one range, or leave it out")
        country = country.upper() if country else None
        check_country(country, subdivision)
        off, on = frozenset(extra_holidays), frozenset(extra_working_days)
        if both := sorted(off & on):
            raise CalendarError(
                "extra_working_days", f"{both[0]} is an extra holiday and an extra working day"
            )
        if not any(week) and not (on and substitute):
            raise CalendarError("week_hours", "a calendar needs working hours on some weekday")
        return cls(timezone, week, country, subdivision, substitute, off, on)

    # ---- which hours a day has --------------------------------------------------------

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def _public(self, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
        """The public holidays and substituted working days of `year` (loaded once)."""
        key = ("year", year)
        found: tuple[frozenset[dt.date], frozenset[dt.date]] | None = self._cache.get(key)
        if found is None:
            if self.country is None:
                found = (frozenset(), frozenset())
            else:
                days = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
                workdays: set[dt.date] = getattr(days, "weekend_workdays", set())
                found = (
                    frozenset(d for d in days if d.year == year),
                    frozenset(d for d in workdays if d.year == year),
                )
            self._cache[key] = found
        return found

    def _substitute_hours(self) -> tuple[Interval, ...]:
        if self.workday_hours is not None:
            return self.workday_hours
        return next((hours for hours in self.week if hours), ())

    def hours_of(self, day: dt.date) -> tuple[Interval, ...]:
        """The working wall-clock intervals of a local date (empty: not a working day)."""
        if day in self.extra_holidays:
            return ()
        own = self.week[day.weekday()]
        public_off, public_on = self._public(day.year)
        if day in self.extra_working_days or day in public_on:
            return own or self._substitute_hours()
        if day in public_off:
            return ()
        return own

    def is_holiday(self, day: dt.date) -> bool:
        """A public or tenant holiday (whether or not the weekday has hours)."""
        if day in self.extra_working_days:
            return False
        return day in self.extra_holidays or day in self._public(day.year)[0]

    def _day(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The day's working intervals as UTC instants; intervals lost to DST dropped."""
        key = ("day", day)
        found: tuple[tuple[dt.datetime, dt.datetime], ...] | None = self._cache.get(key)
        if found is None:
            zone = self.zone
            spans = (
                (_instant(zone, day, iv.start, last=False), _instant(zone, day, iv.end, last=True))
                for iv in self.hours_of(day)
            )
            found = tuple((start, end) for start, end in spans if start < end)
            if len(self._cache) > 20_000:  # a long-lived calendar asked about many dates
                self._cache.clear()
            self._cache[key] = found
        return found

    def working_intervals(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's working intervals as aware datetimes in the calendar's zone."""
        zone = self.zone
        return [(start.astimezone(zone), end.astimezone(zone)) for start, end in self._day(day)]

    def is_working_day(self, day: dt.date) -> bool:
        return bool(self._day(day))

    # ---- arithmetic ---------------------------------------------------------------------

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.zone).date()

    def _out(self, instant: dt.datetime) -> dt.datetime:
        return instant.astimezone(self.zone)

    def _days_from(self, day: dt.date) -> Iterable[tuple[dt.date, Any]]:
        """Successive dates from `day` with their intervals; gives up after a long idle run."""
        idle = 0
        while True:
            intervals = self._day(day)
            if intervals:
                idle = 0
            else:
                idle += 1
                if idle > MAX_IDLE_DAYS:
                    raise CalendarError(
                        "week_hours", f"no working time for {MAX_IDLE_DAYS} days after {day}"
                    )
            yield day, intervals
            day += dt.timedelta(days=1)

    def is_working_time(self, moment: dt.datetime) -> bool:
        t = _utc(moment)
        return any(start <= t < end for start, end in self._day(self._local_date(t)))

    def next_working_moment(self, moment: dt.datetime) -> dt.datetime:
        """`moment` itself when it is working time, else the next opening."""
        t = _utc(moment)
        for _, intervals in self._days_from(self._local_date(t)):
            for start, end in intervals:
                if end > t:
                    return self._out(max(start, t))
        raise AssertionError("unreachable")  # pragma: no cover

    def add_business_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        if duration < dt.timedelta(0):
            raise ValueError("add_business_time counts forward; the duration must be >= 0")
        t, remaining = _utc(start), duration
        for _, intervals in self._days_from(self._local_date(t)):
            for begin, end in intervals:
                if end <= t:
                    continue
                begin = max(begin, t)
                if remaining <= end - begin:
                    return self._out(begin + remaining)
                remaining -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def business_time_between(self, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
        t0, t1 = _utc(a), _utc(b)
        if t1 < t0:
            return -self.business_time_between(b, a)
        total = dt.timedelta(0)
        day, last = self._local_date(t0), self._local_date(t1)
        while day <= last:
            for begin, end in self._day(day):
                overlap = min(end, t1) - max(begin, t0)
                if overlap > dt.timedelta(0):
                    total += overlap
            day += dt.timedelta(days=1)
        return total

    def add_working_days(self, start: dt.datetime, n: int) -> dt.datetime:
        if n < 0:
            raise ValueError("add_working_days counts forward; n must be >= 0")
        first = self.next_working_moment(start)
        day = first.date()
        offset = _wall_offset(self.hours_of(day), _since_midnight(first))
        if n == 0:
            return first
        counted = 0
        for target, intervals in self._days_from(day + dt.timedelta(days=1)):
            if intervals:
                counted += 1
                if counted == n:
                    return self._place(target, offset)
        raise AssertionError("unreachable")  # pragma: no cover

    def _place(self, day: dt.date, offset: dt.timedelta) -> dt.datetime:
        """The moment `offset` of working wall-clock time after the day's opening."""
        hours = self.hours_of(day)
        for interval in hours:
            length = dt.timedelta(minutes=interval.length)
            if offset < length:
                wall = dt.timedelta(minutes=interval.start) + offset
                return self._out(_wall_instant(self.zone, day, wall, last=False))
            offset -= length
        return self._out(_instant(self.zone, day, hours[-1].end, last=True))

    def add(self, start: dt.datetime, amount: dt.timedelta | int, unit: TimeUnit) -> dt.datetime:
        """`start` plus `amount` in `unit`: business time, calendar time or working days."""
        if unit == "working_days":
            if not isinstance(amount, int) or isinstance(amount, bool):
                raise TypeError("working_days takes a whole number of days")
            return self.add_working_days(start, amount)
        if not isinstance(amount, dt.timedelta):
            raise TypeError(f"{unit} time takes a timedelta")
        if unit == "business":
            return self.add_business_time(start, amount)
        if unit == "calendar":
            return self._out(_utc(start) + amount)
        raise ValueError(f"unknown unit {unit!r}; use business, calendar or working_days")


# ---- wall time and instants ---------------------------------------------------------------


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("calendar arithmetic needs an aware datetime")
    return moment.astimezone(_UTC)


def _since_midnight(local: dt.datetime) -> dt.timedelta:
    """Wall-clock time since the local midnight (ignores DST: 10:00 is always 10 h)."""
    return local.replace(tzinfo=None) - dt.datetime.combine(local.date(), dt.time())


def _wall_offset(hours: Sequence[Interval], since_midnight: dt.timedelta) -> dt.timedelta:
    """Working wall-clock time of a day before the wall time `since_midnight`."""
    total = dt.timedelta(0)
    for interval in hours:
        start, end = dt.timedelta(minutes=interval.start), dt.timedelta(minutes=interval.end)
        if since_midnight > start:
            total += min(end, since_midnight) - start
    return total


def _instant(zone: zoneinfo.ZoneInfo, day: dt.date, minute: int, *, last: bool) -> dt.datetime:
    return _wall_instant(zone, day, dt.timedelta(minutes=minute), last=last)


def _wall_instant(
    zone: zoneinfo.ZoneInfo, day: dt.date, wall: dt.timedelta, *, last: bool
) -> dt.datetime:
    """The UTC instant of the wall time `day 00:00 + wall` (`24:00` is the next midnight).

    Twice-occurring wall times give their first occurrence, or their second when
    `last`; a wall time the clocks skip gives the moment they jump."""
    naive = dt.datetime.combine(day, dt.time()) + wall
    early = naive.replace(tzinfo=zone, fold=0).astimezone(_UTC)
    late = naive.replace(tzinfo=zone, fold=1).astimezone(_UTC)
    if early == late:
        return early
    if early < late:  # clocks went back: the wall time happened twice
        return late if last else early
    return _jump(zone, late, early)  # clocks went forward: fold=1 reads it before the gap


def _jump(zone: zoneinfo.ZoneInfo, before: dt.datetime, after: dt.datetime) -> dt.datetime:
    """The instant between `before` and `after` at which the zone's offset changes."""
    offset_after = after.astimezone(zone).utcoffset()
    low, high = 0, int((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        probe = before + dt.timedelta(seconds=middle)
        if probe.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return before + dt.timedelta(seconds=high)
