"""The SQL behind the figures: grouped aggregates over `case_facts` in a period.

`Engine.grouped()` runs one aggregate query over the facts dated in a period by one
column, optionally grouped by a time bucket or a dimension; the metric definitions
(`closeloop.reports.definitions`) are built from it. Medians and percentiles are
`percentile_cont` over the period's rows, found through the `(tenant_id, <date>)` index.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Float, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

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

__all__ = [
    "Aggregates",
    "Engine",
    "buckets",
    "count_of",
    "rate_of",
    "ratio",
    "seconds_of",
]

Aggregates = Mapping[str, Any]


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


def _plain(value: Any) -> Figure:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return round(float(value), 6)


@dataclasses.dataclass(slots=True)
class Engine:
    session: AsyncSession
    scope: Scope
    labels: Labels
    now: dt.datetime

    async def grouped(
        self,
        query: ReportQuery,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        group: Any = None,
        *,
        source: Any = CaseFacts,
        cases: Sequence[ColumnElement[bool]] | None = None,
    ) -> list[tuple[Any, dict[str, Figure]]]:
        """The aggregates over the facts dated in `query`'s period by `dated` (and
        `where`), per value of `group` (None: one row, group None). `cases`: the
        conditions for the cases counted at all, in place of `scope.cases()` (for a
        `source` without `case_facts`)."""
        names = list(aggregates)
        columns = [aggregates[name].label(name) for name in names]
        statement = select(*([group.label("g")] if group is not None else []), *columns)
        statement = statement.select_from(source).where(
            *(self.scope.cases() if cases is None else cases),
            self.scope.period(dated, query),
            *where,
        )
        if group is not None:
            statement = statement.group_by(group)
        result = await self.session.execute(statement)
        out = []
        for row in result.all():
            values = row[1:] if group is not None else row
            figures = {name: _plain(v) for name, v in zip(names, values, strict=True)}
            out.append((row[0] if group is not None else None, figures))
        return out

    async def one(
        self,
        query: ReportQuery,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        *,
        source: Any = CaseFacts,
        cases: Sequence[ColumnElement[bool]] | None = None,
    ) -> dict[str, Figure]:
        rows = await self.grouped(query, dated, where, aggregates, source=source, cases=cases)
        return rows[0][1] if rows else {}

    async def trend(
        self,
        query: ReportQuery,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        point: Any,
        *,
        source: Any = CaseFacts,
        cases: Sequence[ColumnElement[bool]] | None = None,
    ) -> list[TrendPoint]:
        """`point(figures) -> TrendPoint fields` per bucket of `query.group_by`."""
        bucket = query.group_by
        assert bucket in TIME_BUCKETS
        group = self.scope.local_bucket(dated, bucket)
        found = {
            bucket_key(bucket, g): figures
            for g, figures in await self.grouped(
                query, dated, where, aggregates, group, source=source, cases=cases
            )
        }
        return [
            TrendPoint(key=key, start=start, end=end, **point(found.get(key, {})))
            for key, start, end in buckets(query, bucket)
        ]

    async def breakdown(
        self,
        query: ReportQuery,
        dimension: str,
        dated: Any,
        where: Sequence[ColumnElement[bool]],
        aggregates: Aggregates,
        row: Any,
        *,
        source: Any = CaseFacts,
    ) -> Breakdown:
        """Rows per value of `dimension`, largest `count` first."""
        assert dimension in DIMENSIONS
        grouped = await self.grouped(
            query, dated, where, aggregates, dimension_column(dimension), source=source
        )
        rows = [
            Row(
                key=f"{dimension}:{value if value is not None else 'none'}",
                label=self.labels.of(dimension, value),
                **row(figures),
            )
            for value, figures in grouped
        ]
        rows.sort(key=lambda r: (-(r.count or 0), r.key))
        return Breakdown(dimension=dimension, rows=rows)


def hit_count(condition: ColumnElement[bool]) -> Any:
    """Rows where `condition` holds, as an aggregate."""
    return func.count().filter(condition)


def when(condition: ColumnElement[bool], then: Any) -> Any:
    return case((condition, then), else_=None)
