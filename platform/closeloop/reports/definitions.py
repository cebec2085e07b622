"""The metrics of docs/reports.md, each defined once: how its figure is computed
(`compute`) and which cases it counted (`population`, what the case lists read).

A definition names the fact that dates a case into the period (`dated`), the facts a
case must have (`where`) and how the figure aggregates. `Plain` covers the metrics that
are one aggregate over one dated population; the others (`definitions_special`) add
their own breakdowns. `DEFINITIONS` maps every name of `schemas.METRICS` to its
definition.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, not_

from closeloop.errors import UnprocessableEntity
from closeloop.reports.batch import Grouped, Request
from closeloop.reports.engine import Engine, count_of, first, rate_of, ratio, seconds_of
from closeloop.reports.models import CaseFacts as F
from closeloop.reports.schemas import (
    DIMENSIONS,
    TIME_BUCKETS,
    Breakdown,
    Figure,
    Metric,
    ReportQuery,
)
from closeloop.reports.scope import (
    bucket_range,
    category_subtree,
    dimension_column,
    dimension_value,
    equals_or_null,
)

__all__ = ["PLAIN", "Definition", "Plain", "Population", "Unit", "common_key", "fields_of"]

Unit = Literal["count", "rate", "seconds", "per_10000"]


@dataclasses.dataclass(frozen=True, slots=True)
class Population:
    """The rows a figure counted: dated by `dated` in the period (or `period`), with
    `where`, read from `source` (the facts, or the facts joined to the SLA clocks)."""

    dated: Any
    where: list[ColumnElement[bool]]
    source: Any = F
    period: ReportQuery | None = None


def fields_of(unit: Unit, figures: dict[str, Figure]) -> dict[str, Any]:
    """Row/point fields from one group's aggregates."""
    count = figures.get("count")
    if unit == "rate":
        numerator, denominator = figures.get("numerator"), count
        return {
            "value": ratio(_int(numerator), _int(denominator)),
            "numerator": _int(numerator) or 0,
            "denominator": _int(denominator) or 0,
            "count": _int(count) or 0,
        }
    if unit == "seconds":
        return {
            "value": figures.get("mean_calendar_seconds"),
            "count": _int(count) or 0,
            "figures": {k: v for k, v in figures.items() if k != "count"},
        }
    return {"value": _int(count) or 0, "count": _int(count) or 0}


def _int(value: Figure) -> int | None:
    return None if value is None else int(value)


def common_key(
    engine: Engine, population: Population, key: str, *, category_tree: bool = True
) -> Population:
    """Narrow `population` by a time bucket key or a dimension key; 422 naming `key`."""
    kind, _, value = key.partition(":")
    if kind in TIME_BUCKETS:
        days = bucket_range(key)
        if days is None:
            raise UnprocessableEntity(f"bad {kind} key {key!r}", field="key")
        return dataclasses.replace(
            population,
            where=[*population.where, engine.scope.within(population.dated, *days)],
        )
    if kind == "category" and value not in ("", "none") and category_tree:
        ids = category_subtree(engine.labels, value)
        return dataclasses.replace(population, where=[*population.where, F.category_id.in_(ids)])
    if kind in DIMENSIONS and value:
        condition = equals_or_null(dimension_column(kind), dimension_value(kind, value))
        return dataclasses.replace(population, where=[*population.where, condition])
    raise UnprocessableEntity(f"this figure has no key {key!r}", field="key")


class Definition:
    """A metric: its figure over a period, and the cases behind it."""

    name: str
    unit: Unit

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        raise NotImplementedError

    def population(self, engine: Engine, key: str | None) -> Population:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True, slots=True)
class Plain(Definition):
    """One aggregate over the facts dated by `dated`, with `where`:

    * `count`: the cases; * `rate`: `hit` ÷ the cases; * `seconds`: mean, median, p90
      of `seconds` (calendar, business) over the cases that have them.
    """

    name: str
    unit: Unit
    dated: Any
    where: Sequence[ColumnElement[bool]] = ()
    hit: ColumnElement[bool] | None = None
    seconds: tuple[Any, Any] | None = None
    breakdowns: tuple[str, ...] = ()  # dimensions always broken down

    def _where(self) -> list[ColumnElement[bool]]:
        where = list(self.where)
        if self.seconds is not None:
            where.append(self.seconds[0].is_not(None))
        return where

    def _aggregates(self) -> dict[str, Any]:
        if self.unit == "rate":
            assert self.hit is not None
            return rate_of(self.hit)
        if self.seconds is not None:
            return seconds_of(*self.seconds)
        return count_of()

    def _dimensions(self, query: ReportQuery, detail: bool) -> list[str]:
        if not detail:
            return []
        dimensions = list(self.breakdowns)
        if query.group_by in DIMENSIONS and query.group_by not in dimensions:
            dimensions.append(query.group_by)
        return dimensions

    def ask(self, engine: Engine, query: ReportQuery, detail: bool) -> list[Request]:
        """The requests of the figure (its breakdowns and trend with `detail`)."""
        where, aggregates = self._where(), self._aggregates()
        asked = [engine.ask(query, self.dated, where, aggregates)]
        asked += [
            engine.ask_breakdown(query, dimension, self.dated, where, aggregates)
            for dimension in self._dimensions(query, detail)
        ]
        if detail and query.group_by in TIME_BUCKETS:
            asked.append(engine.ask_trend(query, self.dated, where, aggregates))
        return asked

    def build(
        self, engine: Engine, query: ReportQuery, detail: bool, found: Sequence[Grouped]
    ) -> Metric:
        """The metric from the answers to `ask`'s requests."""
        metric = Metric(name=self.name, unit=self.unit, **fields_of(self.unit, first(found[0])))
        dimensions = self._dimensions(query, detail)
        for dimension, rows in zip(dimensions, found[1:], strict=False):
            metric.breakdowns.append(self.breakdown(engine, dimension, rows, metric))
        if detail and query.group_by in TIME_BUCKETS:
            metric.trend = engine.trend_points(query, found[-1], lambda f: fields_of(self.unit, f))
        return metric

    async def compute(self, engine: Engine, query: ReportQuery, detail: bool) -> Metric:
        found = await engine.run(*self.ask(engine, query, detail))
        return self.build(engine, query, detail, found)

    def breakdown(
        self, engine: Engine, dimension: str, found: Grouped, metric: Metric
    ) -> Breakdown:
        breakdown = engine.breakdown_rows(dimension, found, lambda f: fields_of(self.unit, f))
        if self.unit == "count":
            for row in breakdown.rows:
                row.share = ratio(row.count, metric.count)
        if dimension == "category":
            breakdown = category_tree(engine, breakdown, metric)
        return breakdown

    def population(self, engine: Engine, key: str | None) -> Population:
        where = self._where()
        if self.hit is not None:
            if key is not None and key == f"{self.name}:not":
                return Population(self.dated, [*where, not_(self.hit)])
            where.append(self.hit)
        population = Population(self.dated, where)
        return population if key is None else common_key(engine, population, key)


def category_tree(engine: Engine, found: Breakdown, metric: Metric) -> Breakdown:
    """Category rows as a tree: every node counts its own cases and its descendants'
    (`parent` names the parent row's key); only count rows roll up."""
    labels = engine.labels
    if metric.unit != "count":
        for row in found.rows:
            code = row.key.partition(":")[2]
            parent = labels.category_parent.get(code)
            row.parent = f"category:{parent}" if parent else None
        return found
    own = {row.key.partition(":")[2]: row.count or 0 for row in found.rows}
    totals: dict[str, int] = {}
    for code, n in own.items():
        node: str | None = code
        seen = set()
        while node is not None and node != "none" and node not in seen:
            seen.add(node)
            totals[node] = totals.get(node, 0) + n
            node = labels.category_parent.get(node)
        if code == "none":
            totals["none"] = totals.get("none", 0) + n
    rows = []
    from closeloop.reports.schemas import Row

    for code, n in totals.items():
        parent = labels.category_parent.get(code) if code != "none" else None
        rows.append(
            Row(
                key=f"category:{code}",
                label=labels.of("category", None if code == "none" else code),
                value=n,
                count=n,
                share=ratio(n, metric.count),
                parent=f"category:{parent}" if parent else None,
                figures={"own": own.get(code, 0)},
            )
        )
    rows.sort(key=lambda r: (-(r.count or 0), r.key))
    return Breakdown(dimension="category", rows=rows)


FCR = and_(F.reopen_count == 0, F.customer_contacts <= 1)

PLAIN: tuple[Plain, ...] = (
    Plain(
        "volume",
        "count",
        F.received_at,
        breakdowns=("kind", "channel", "category", "severity", "department"),
    ),
    Plain(
        "first_response_time",
        "seconds",
        F.first_response_at,
        seconds=(F.first_response_seconds, F.first_response_business_seconds),
    ),
    Plain(
        "resolution_time",
        "seconds",
        F.first_resolved_at,
        seconds=(F.resolution_seconds, F.resolution_business_seconds),
    ),
    Plain(
        "close_time",
        "seconds",
        F.closed_at,
        seconds=(F.close_seconds, F.close_business_seconds),
    ),
    Plain("fcr_rate", "rate", F.first_resolved_at, hit=FCR),
    Plain("reopen_rate", "rate", F.first_resolved_at, hit=F.reopened_in_window.is_(True)),
    Plain("repeat_rate", "rate", F.received_at, hit=F.is_repeat.is_(True)),
    Plain("made_major", "count", F.made_major_at),
)
