"""What a report is asked and what it answers (docs/reports.md is the reference).

* `ReportQuery`: the tenant-local days `date_from`..`date_to` (both inclusive), an
  optional `group_by` (a time bucket for trends, or a dimension for breakdowns) and
  `ReportFilters`. Parsed from `?from=&to=` or `?period=2026-10` / `2026-W41` /
  `2026-10-03` / `2026` (`parse_period`).
* `Summary`: the period, the previous period of the same length, and every metric
  by its definition's name (`METRICS`), each a `Metric`.

The JSON of `Summary` is what `GET /api/v1/reports/summary` answers; the console, the
CLI, the workbook and the e-mail read the same struct.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Literal

import msgspec

from closeloop.cases.schemas import CaseSummary

__all__ = [
    "DIMENSIONS",
    "GROUP_BY",
    "METRICS",
    "TIME_BUCKETS",
    "Breakdown",
    "CaseList",
    "Figure",
    "Metric",
    "Period",
    "ReportFilters",
    "ReportQuery",
    "Row",
    "Summary",
    "TrendPoint",
    "parse_period",
    "previous_range",
]

# The metrics, by definition name, in the order a report shows them (docs/reports.md).
METRICS: tuple[str, ...] = (
    "volume",
    "resolved",
    "complaint_rate",
    "first_response_time",
    "resolution_time",
    "close_time",
    "on_time_rate",
    "fcr_rate",
    "reopen_rate",
    "repeat_rate",
    "escalations",
    "made_major",
    "satisfaction",
    "followup",
    "responsibility",
    "handler_ranking",
    "pareto",
    "pareto_products",
)

TIME_BUCKETS: tuple[str, ...] = ("day", "week", "month")
DIMENSIONS: tuple[str, ...] = ("channel", "kind", "category", "severity", "department", "handler")
GROUP_BY: tuple[str, ...] = TIME_BUCKETS + DIMENSIONS

# A figure: a count, a rate (0..1), a duration in seconds, or nothing (no data).
# `float` in the schema ("number"): a count goes out as an integer all the same, and
# `int | float` would make the document's oneOf match 0 twice.
Figure = float | None


class ReportFilters(msgspec.Struct, frozen=True, omit_defaults=True):
    """Which cases a report counts; every given filter must hold.

    Codes and ids as the case list takes them: `channel` (code), `kind`
    (complaint, service_request, inquiry, suggestion), `category` (code or id; the
    category and everything under it in the tree), `severity` (code), `department`
    (lead department id), `handler` (user id: the resolving handler, or the current
    handler while unresolved).
    """

    channel: str | None = None
    kind: str | None = None
    category: str | None = None
    severity: str | None = None
    department: uuid.UUID | None = None
    handler: uuid.UUID | None = None


class ReportQuery(msgspec.Struct, frozen=True):
    """The days (tenant-local, both inclusive), the grouping and the filters."""

    date_from: dt.date
    date_to: dt.date
    group_by: str | None = None
    filters: ReportFilters = ReportFilters()

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def previous(self) -> ReportQuery:
        """The same query over the period of the same length just before."""
        start, end = previous_range(self.date_from, self.date_to)
        return ReportQuery(start, end, self.group_by, self.filters)


class Period(msgspec.Struct, frozen=True):
    """Days in the tenant's time zone, both inclusive."""

    date_from: dt.date = msgspec.field(name="from")
    date_to: dt.date = msgspec.field(name="to")
    days: int
    time_zone: str


class Row(msgspec.Struct):
    """One bar of a breakdown: `key` names the bucket as `/reports/{metric}/cases`
    takes it (`channel:web`, `category:logistics`, `severity:urgent`,
    `on_time_rate:resolution`, `satisfaction:satisfied`, ...).

    `value` is the row's figure in the metric's unit; `count` the cases (or clocks,
    answers, tasks) behind it; rates also give `numerator` and `denominator`;
    shares of a whole give `share` (and Pareto rows `cumulative_share`);
    `parent` is the parent's key in a tree (categories); `figures` holds the
    metric's other named figures for this row.
    """

    key: str
    label: str
    value: Figure = None
    count: int | None = None
    numerator: int | None = None
    denominator: int | None = None
    share: float | None = None
    cumulative_share: float | None = None
    parent: str | None = None
    figures: dict[str, Figure] = {}


class Breakdown(msgspec.Struct):
    """A metric's rows over one dimension (`channel`, `category`, `target`, ...)."""

    dimension: str
    rows: list[Row]


class TrendPoint(msgspec.Struct):
    """The metric over one time bucket (tenant-local): `key` is `day:2026-10-03`,
    `week:2026-W41` or `month:2026-10`; `start`/`end` its first and last day
    (clipped to the period)."""

    key: str
    start: dt.date
    end: dt.date
    value: Figure = None
    count: int | None = None
    numerator: int | None = None
    denominator: int | None = None
    figures: dict[str, Figure] = {}


class Metric(msgspec.Struct):
    """One metric of the period, named as in docs/reports.md.

    * `value`: the headline figure in `unit` (`count`, `rate` 0..1, `seconds`,
      `per_10000`); None when nothing was measured (an empty denominator);
    * `numerator` / `denominator`: for rates;
    * `count`: how many cases (clocks, answers, tasks) the figure is computed over;
    * `previous`: the same figure over the previous period; `change`: value − previous
      (None when either is None);
    * `figures`: the metric's other named figures (`median_business_seconds`, ...);
    * `breakdowns`: rows per dimension (always the metric's own ones, e.g. volume by
      kind/channel/category/severity/department; plus `group_by` when it is a
      dimension);
    * `trend`: points per bucket when `group_by` is day, week or month;
    * `note`: why a figure is missing (`no_order_volume`) or what limits it.
    """

    name: str
    unit: Literal["count", "rate", "seconds", "per_10000"]
    value: Figure = None
    numerator: int | None = None
    denominator: int | None = None
    count: int | None = None
    previous: Figure = None
    change: Figure = None
    figures: dict[str, Figure] = {}
    breakdowns: list[Breakdown] = []
    trend: list[TrendPoint] = []
    note: str | None = None


class Summary(msgspec.Struct):
    """Every metric of one period, with the previous period for comparison."""

    period: Period
    previous_period: Period
    group_by: str | None
    filters: ReportFilters
    metrics: dict[str, Metric]
    generated_at: dt.datetime


class CaseList(msgspec.Struct):
    """The cases behind one figure: `items` are the case list's summaries
    (`closeloop.cases.schemas.CaseSummary`, PII masked as there), newest received
    first; pass `next_cursor` as `cursor` for more."""

    metric: str
    key: str | None
    items: list[CaseSummary]
    next_cursor: str | None


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    """`2026-10` (a month), `2026-W41` (an ISO week), `2026-10-03` (a day) or `2026`
    (a year) → its first and last day; ValueError naming the forms otherwise."""
    try:
        if m := _MONTH.match(text):
            start = dt.date(int(m[1]), int(m[2]), 1)
            following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
            return start, following - dt.timedelta(days=1)
        if m := _WEEK.match(text):
            start = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return start, start + dt.timedelta(days=6)
        if m := _YEAR.match(text):
            return dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31)
        if _DAY.match(text):
            day = dt.date.fromisoformat(text)
            return day, day
    except ValueError:
        pass
    raise ValueError("period must be a month (2026-10), an ISO week (2026-W41), a day or a year")


def previous_range(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The period of the same length just before: a whole calendar month gives the
    previous whole month, anything else the same number of days."""
    if date_from.day == 1 and (date_to + dt.timedelta(days=1)).day == 1:
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        index = date_from.year * 12 + date_from.month - 1 - months
        start = dt.date(index // 12, index % 12 + 1, 1)
        return start, date_from - dt.timedelta(days=1)
    length = date_to - date_from + dt.timedelta(days=1)
    return date_from - length, date_from - dt.timedelta(days=1)
