"""The SQL behind the figures: grouped aggregates over `case_facts` in a period.

A metric definition (`closeloop.reports.definitions`) asks the `Engine` for aggregates
over the facts dated in a period by one column (`ask`), optionally grouped by a time
bucket (`ask_trend`) or a dimension (`ask_breakdown`), and waits for all it asked at
once (`run`). A summary runs every metric of both periods side by side (`gather`), so
their requests go to the database together, merged into one statement per source and
dating column (`closeloop.reports.batch`). Medians and percentiles are
`percentile_cont` over the period's rows, found through the `(tenant_id, <date>)` index.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Float, Table, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.reports.batch import Batch, Grouped, Request, execute
from closeloop.reports.lanes import lanes
from closeloop.reports.models import CaseFacts
from closeloop.reports.schemas import (
    DIMENSIONS,
    TIME_BUCKETS,
    Breakdown,
    Figure,
    ReportQuery,
    Row,
    TrendPoint,
)
from closeloop.reports.scope import Labels, Scope, bucket_key, dimension_column
from closeloop.sla.models import SlaClock

__all__ = [
    "REPORT_SETTINGS",
    "Aggregates",
    "Engine",
    "buckets",
    "count_of",
    "first",
    "rate_of",
    "ratio",
    "report_settings",
    "seconds_of",
]

Aggregates = Mapping[str, Any]
T = TypeVar("T")


# The report's transaction (bench/RESULTS.md, "Reports at scale"):
# * its statements are aggregates over index scans: compiling them with JIT costs more
#   (70-400 ms each) than it saves;
# * the medians and the groupings of a long trend sort up to 200,000 facts: in memory;
# * the planner takes a time bucket or a stretch of days (`width_bucket` of a date) for
#   as many groups as the date has values and would sort rather than hash: room for
#   hash tables, which hold the real groups (a few hundred);
# * a plan for the values at hand, never a generic one: a statement reads 20 or
#   500,000 rows depending on the tenant and the period, and planning is a fraction of
#   a millisecond.
REPORT_SETTINGS = {
    "jit": "off",
    "work_mem": "32MB",
    "hash_mem_multiplier": "8",
    "plan_cache_mode": "force_custom_plan",
}


async def report_settings(session: AsyncSession) -> None:
    """`REPORT_SETTINGS` for the rest of the session's transaction."""
    names = list(REPORT_SETTINGS)
    await session.execute(
        select(*(func.set_config(name, REPORT_SETTINGS[name], True) for name in names))
    )


# The tables the statements of a summary read (the lookups aside): the facts, and the
# SLA clocks of the on-time rate.
READ: tuple[Table, ...] = (CaseFacts.__table__, SlaClock.__table__)  # type: ignore[assignment]


def count_of() -> dict[str, Any]:
    return {"count": func.count()}


def rate_of(hit: ColumnElement[bool]) -> dict[str, Any]:
    return {"count": func.count(), "numerator": func.count().filter(hit)}


def seconds_of(calendar: Any, business: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"count": func.count(calendar)}
    for name, column in (("calendar", calendar), ("business", business)):
        out[f"mean_{name}_seconds"] = func.avg(cast(column, Float))
        out[f"median_{name}_seconds"] = func.percentile_cont(0.5).within_group(column)
        out[f"p90_{name}_seconds"] = func.percentile_cont(0.9).within_group(column)
    return out


def ratio(numerator: int | None, denominator: int | None) -> float | None:
    if not denominator:
        return None
    return (numerator or 0) / denominator


def buckets(query: ReportQuery, bucket: str) -> list[tuple[str, dt.date, dt.date]]:
    """Every bucket of the period, in order, clipped to it: (key, first day, last day)."""
    out: list[tuple[str, dt.date, dt.date]] = []
    day = query.date_from
    while day <= query.date_to:
        key = bucket_key(bucket, day)
        if out and out[-1][0] == key:
            out[-1] = (key, out[-1][1], day)
        else:
            out.append((key, day, day))
        day += dt.timedelta(days=1)
    return out


@dataclasses.dataclass(slots=True)
class Engine:
    """Asks for aggregates over the facts (or the clocks) dated in a period.

    `ask()` describes a request; `run()` answers requests, each as the rows of its
    own aggregate query (`closeloop.reports.batch`). Inside `gather()` (a summary:
    every metric side by side) the requests of all metrics are sent together, few
    statements for all; outside, each `run()` sends its own requests."""

    session: AsyncSession
    scope: Scope
    labels: Labels
    now: dt.datetime
    batch: Batch | None = None
    merge: bool = True  # False: each request a statement of its own
    lanes: int = 1  # the connections the last `gather` ran its statements on
    lookups: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    made: dict[str, Any] = dataclasses.field(default_factory=dict)

    def once(self, key: str, make: Callable[[], T]) -> T:
        """`make()` once per engine: the same expression objects in every request,
        so a statement carries one copy of their values."""
        if key not in self.made:
            self.made[key] = make()
        made: T = self.made[key]
        return made

    def ask(
        self,
        query: ReportQuery,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        group: Any = None,
        *,
        source: Any = CaseFacts,
        cases: Sequence[ColumnElement[bool]] | None = None,
    ) -> Request:
        """The aggregates over the facts dated in `query`'s period by `dated` (and
        `where`), per value of `group` (None: one row, group None). `cases`: the
        conditions for the cases counted at all, in place of `scope.cases()` (for a
        `source` without `case_facts`)."""
        return Request(
            query,
            dated,
            tuple(where),
            aggregates,
            group,
            source,
            self.scope.cases() if cases is None else cases,
            "scope" if cases is None else None,
        )

    async def run(self, *requests: Request) -> list[Grouped]:
        if self.batch is not None:
            return await self.batch.wait(requests)
        return await execute([self.session], self.scope, requests, merge=self.merge)

    async def gather(self, coroutines: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
        """Run `coroutines` side by side, their requests sent together, the statements
        on two connections sharing a snapshot when there are two to be had
        (`closeloop.reports.lanes`), else on the session."""
        async with lanes(self.session, report_settings, READ) as opened:
            sessions = opened or [self.session]
            self.lanes = len(sessions)
            self.batch = Batch(lambda requests: execute(sessions, self.scope, requests))
            try:
                return await self.batch.gather(coroutines)
            finally:
                self.batch = None

    async def lookup(self, key: str, statement: Any) -> list[Any]:
        """The rows of a small lookup, read once per engine (`key` names it), never
        while a batch is sent."""
        found = self.lookups.get(key)
        if found is not None:
            return found
        lock = self.batch.lock if self.batch is not None else contextlib.nullcontext()
        async with lock:
            found = self.lookups.get(key)
            if found is None:
                found = self.lookups[key] = list((await self.session.execute(statement)).all())
        return found

    def ask_trend(
        self,
        query: ReportQuery,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        *,
        source: Any = CaseFacts,
        cases: Sequence[ColumnElement[bool]] | None = None,
    ) -> Request:
        """The aggregates per bucket of `query.group_by` (see `trend_points`)."""
        assert query.group_by in TIME_BUCKETS
        starts = [start for _, start, _ in buckets(query, query.group_by)]
        end = query.date_to + dt.timedelta(days=1)
        group = self.scope.bucket_index(dated, starts, end)
        request = self.ask(query, dated, where, aggregates, group, source=source, cases=cases)
        request.starts = tuple(starts)
        return request

    def trend_points(self, query: ReportQuery, found: Grouped, point: Any) -> list[TrendPoint]:
        """`point(figures) -> TrendPoint fields` per bucket of `query.group_by`."""
        bucket = query.group_by
        assert bucket is not None
        by_index = dict(found)  # `Scope.bucket_index`: 1 is the first bucket
        return [
            TrendPoint(key=key, start=start, end=end, **point(by_index.get(index, {})))
            for index, (key, start, end) in enumerate(buckets(query, bucket), start=1)
        ]

    def ask_breakdown(
        self,
        query: ReportQuery,
        dimension: str,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        *,
        source: Any = CaseFacts,
    ) -> Request:
        assert dimension in DIMENSIONS
        group = dimension_column(dimension)
        return self.ask(query, dated, where, aggregates, group, source=source)

    def breakdown_rows(self, dimension: str, found: Grouped, row: Any) -> Breakdown:
        """Rows per value of `dimension`, largest `count` first."""
        rows = [
            Row(
                key=f"{dimension}:{value if value is not None else 'none'}",
                label=self.labels.of(dimension, value),
                **row(figures),
            )
            for value, figures in found
        ]
        rows.sort(key=lambda r: (-(r.count or 0), r.key))
        return Breakdown(dimension=dimension, rows=rows)


def first(found: Grouped) -> dict[str, Figure]:
    """The figures of an ungrouped request."""
    return found[0][1] if found else {}


def hit_count(condition: ColumnElement[bool]) -> Any:
    """Rows where `condition` holds, as an aggregate."""
    return func.count().filter(condition)


def when(condition: ColumnElement[bool], then: Any) -> Any:
    return case((condition, then), else_=None)
