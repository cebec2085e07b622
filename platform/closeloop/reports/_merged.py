"""The SQL of `closeloop.reports.batch`: requests that read the same rows, one statement.

Requests with the same source, case conditions and dating column (`Request.statement_key`)
are answered by one statement over the rows dated in any of their periods:

* `statement`: each request's aggregates carry a `FILTER (WHERE ...)` with its period
  (when the statement has several) and its own conditions; conditions every request
  has go to the statement's WHERE, once per row; each grouping (none, a dimension, a
  time bucket) is one of the statement's `GROUPING SETS`.
* `counted`: when every aggregate is a count and there are several periods or a trend,
  the rows are counted once per stretch of days between any two bounds of the periods
  and buckets (`width_bucket` of the date in an array of those bounds, a grouping
  column of every set), and a request's figure is the sum over its stretches: one set
  of aggregates for all periods and buckets, no FILTER per period.

A request's answer is what a statement of its own would give: the groups where its
conditions hold for some row (a hidden `count(*) FILTER` says which), and for no
grouping exactly one row (counts 0, other aggregates null when nothing matched).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import FunctionFilter, WithinGroup

from closeloop.reports.schemas import Figure

if TYPE_CHECKING:
    from closeloop.reports.batch import Grouped, Request

__all__ = ["Days", "Keys", "counted", "empty", "is_ordered", "key_of", "statement", "totals"]


class Days(Protocol):
    """Tenant-local days as instants (`closeloop.reports.scope.Scope`)."""

    def within(self, column: Any, date_from: dt.date, date_to: dt.date) -> ColumnElement[bool]: ...

    def bucket_index(self, column: Any, starts: Sequence[dt.date], end: dt.date) -> Any: ...


def key_of(element: Any) -> str:
    """Two SQL expressions with the same key render the same SQL with the same values."""
    if element is None:
        return ""
    compiled = element.compile()
    return f"{compiled}|{sorted(compiled.params.items(), key=lambda kv: kv[0])!r}"


class Keys:
    """`key_of` of each expression once (the requests keep them alive meanwhile)."""

    def __init__(self) -> None:
        self._seen: dict[int, str] = {}

    def __call__(self, element: Any) -> str:
        found = self._seen.get(id(element))
        if found is None:
            found = self._seen[id(element)] = key_of(element)
        return found


def _inner(aggregate: Any) -> Any:
    while isinstance(aggregate, FunctionFilter | WithinGroup):
        aggregate = aggregate.func if isinstance(aggregate, FunctionFilter) else aggregate.element
    return aggregate


def is_ordered(aggregate: Any) -> bool:
    if isinstance(aggregate, FunctionFilter):
        return is_ordered(aggregate.func)
    return isinstance(aggregate, WithinGroup)


def empty(aggregate: Any) -> Figure:
    """An aggregate's value over no rows: 0 for a count, else null."""
    return 0 if getattr(_inner(aggregate), "name", "") == "count" else None


def _filtered(aggregate: Any, where: Sequence[ColumnElement[bool]]) -> Any:
    """`aggregate` over the rows that also hold `where`, checked first (the period
    before, say, a clock's state: a row of the other period stops there)."""
    if not where:
        return aggregate
    if isinstance(aggregate, FunctionFilter) and aggregate.criterion is not None:
        return FunctionFilter(aggregate.func, *where, aggregate.criterion)
    return aggregate.filter(and_(*where))


def plain(value: Any) -> Figure:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    return round(float(value), 6)


def _ranges(periods: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """The periods' days as few ranges (adjacent periods joined)."""
    out: list[tuple[dt.date, dt.date]] = []
    for start, end in sorted(periods):
        if out and start <= out[-1][1] + dt.timedelta(days=1):
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _where_parts(
    keys: Keys, requests: Sequence[Request]
) -> tuple[list[ColumnElement[bool]], list[list[ColumnElement[bool]]]]:
    """The conditions every request has (for the statement's WHERE, once per row) and
    each request's others."""
    shared = set.intersection(*({keys(c) for c in r.where} for r in requests))
    common = [c for c in requests[0].where if keys(c) in shared]
    return common, [[c for c in r.where if keys(c) not in shared] for r in requests]


def _grouping(
    statement: Any, groups: dict[str, Any], keyed: Sequence[Any]
) -> tuple[Any, list[Any], list[str], Callable[[Any], str]]:
    """`statement` grouped by `keyed` and each of `groups` (key → expression, ""
    none) as its grouping sets. Answers the statement, the columns to select first
    (`keyed`, the group columns, GROUPING() when there are several sets), the group
    keys in column order, and the set a result row belongs to."""
    group_keys = [k for k in groups if k]
    heads = [*keyed, *(groups[k] for k in group_keys)]
    several = len(groups) > 1
    if several:
        heads.append(func.grouping(*(groups[k] for k in group_keys)))
        sets = [tuple_(*keyed, *([groups[k]] if k else [])) for k in groups]
        statement = statement.group_by(func.grouping_sets(*sets))
    elif keyed or group_keys:
        statement = statement.group_by(*keyed, *(groups[k] for k in group_keys))
    # GROUPING() has a 1 bit for each group column not in the row's set.
    width = len(group_keys)
    set_of_bits = {}
    for k in groups:
        bits = 0
        for position, other in enumerate(group_keys):
            if other != k:
                bits |= 1 << (width - 1 - position)
        set_of_bits[bits] = k
    only = next(iter(groups))

    def set_of(row: Any) -> str:
        return set_of_bits[int(row[len(keyed) + width])] if several else only

    return statement, heads, group_keys, set_of


async def counted(
    session: AsyncSession, days: Days, keys: Keys, requests: Sequence[Request]
) -> list[Grouped]:
    """Requests whose aggregates are all counts, over several periods or by time
    bucket: the rows are counted once per stretch of days between any two bounds of
    the requests' periods and buckets (`width_bucket` over their starts), and each
    request's figures are the sums over its stretches. One set of aggregates for
    every period, no FILTER per period. The figures without a dimension are the sums
    over a dimension's set when there is one (its groups hold every row, NULL a group
    too), so the statement has no set of its own for them."""
    first = requests[0]
    dated = first.dated
    bounds: set[dt.date] = set()
    for request in requests:
        bounds |= {request.query.date_from, request.query.date_to + dt.timedelta(days=1)}
        bounds |= set(request.starts or ())
    edges = sorted(bounds)
    stretch = days.bucket_index(dated, edges[:-1], edges[-1])  # i: edges[i-1]..edges[i]
    common, own = _where_parts(keys, requests)

    groups: dict[str, Any] = {}
    for request in requests:
        if request.by_dimension():
            groups.setdefault(keys(request.group), request.group)
    whole = next(iter(groups), "")  # the set the figures without a dimension sum over
    groups = groups or {"": None}
    columns: list[Any] = []
    slots: list[list[int]] = []
    for request, where in zip(requests, own, strict=True):
        slots.append([len(columns) + n for n in range(len(request.aggregates) + 1)])
        columns += [_filtered(a, where) for a in request.aggregates.values()]
        columns.append(func.count().filter(and_(*where)) if where else func.count())  # rows
    query = select().select_from(first.source)
    query = query.where(
        *first.cases,
        or_(*[days.within(dated, *r) for r in _ranges([r.period() for r in requests])]),
        *common,
    )
    query, heads, group_keys, set_of = _grouping(query, groups, [stretch])
    query = query.add_columns(*heads, *columns)
    start = len(heads)
    # set → stretch → group value → the row's aggregates
    found: dict[str, dict[int, dict[Any, Any]]] = {}
    for row in (await session.execute(query)).all():
        place = set_of(row)
        value = row[1 + group_keys.index(place)] if place else None
        found.setdefault(place, {}).setdefault(int(row[0]), {})[value] = row

    def stretches(first_day: dt.date, end: dt.date) -> list[int]:
        return [i for i in range(1, len(edges)) if first_day <= edges[i - 1] and edges[i] <= end]

    def total(rows: list[Any], columns: list[int]) -> list[int]:
        return [sum(int(row[start + c] or 0) for row in rows) for c in columns]

    out: list[Grouped] = []
    for request, mine in zip(requests, slots, strict=True):
        names = list(request.aggregates)
        end = request.query.date_to + dt.timedelta(days=1)
        answer: Grouped = []
        if request.by_dimension():
            by_stretch = found.get(keys(request.group), {})
            values = dict.fromkeys(v for rows in by_stretch.values() for v in rows)
            mine_stretches = stretches(request.query.date_from, end)
            parts = [
                (value, [by_stretch.get(i, {}).get(value) for i in mine_stretches])
                for value in values
            ]
        else:
            by_stretch = found.get(whole, {})
            spans: list[tuple[Any, tuple[dt.date, dt.date]]] = [
                (None, (request.query.date_from, end))
            ]
            if request.starts is not None:
                ends = [*request.starts[1:], end]
                spans = list(enumerate(zip(request.starts, ends, strict=True), 1))
            parts = [
                (value, [row for i in stretches(*span) for row in by_stretch.get(i, {}).values()])
                for value, span in spans
            ]
        for value, rows in parts:
            *sums, counted_rows = total([r for r in rows if r is not None], mine)
            if counted_rows or request.group is None:
                answer.append((value, dict(zip(names, sums, strict=True))))
        out.append(answer)
    return out


async def totals(session: AsyncSession, days: Days, requests: Sequence[Request]) -> list[Grouped]:
    """Requests without grouping, of any dating columns (the same source and cases):
    one statement over the rows dated in any of their periods by any of their columns,
    each request's aggregates filtered by its own date and period, no GROUP BY (so
    medians too: an ordered aggregate sorts only the rows its FILTER lets through)."""
    first = requests[0]
    by_date: dict[int, tuple[Any, list[tuple[dt.date, dt.date]]]] = {}
    for request in requests:
        by_date.setdefault(id(request.dated), (request.dated, []))[1].append(request.period())
    dated_in = [
        days.within(dated, *r) for dated, periods in by_date.values() for r in _ranges(periods)
    ]
    columns: list[Any] = []
    for request in requests:
        where = [days.within(request.dated, *request.period()), *request.where]
        columns += [_filtered(a, where) for a in request.aggregates.values()]
    query = select(*columns).select_from(first.source).where(*first.cases, or_(*dated_in))
    row = (await session.execute(query)).one()
    out: list[Grouped] = []
    column = 0
    for request in requests:
        names = list(request.aggregates)
        values = row[column : column + len(names)]
        column += len(names)
        out.append([(None, {n: plain(v) for n, v in zip(names, values, strict=True)})])
    return out


async def statement(
    session: AsyncSession,
    within: Callable[[Any, dt.date, dt.date], ColumnElement[bool]],
    keys: Keys,
    requests: Sequence[Request],
) -> list[Grouped]:
    first = requests[0]
    dated = first.dated
    periods = list(dict.fromkeys(r.period() for r in requests))
    # With one period the statement's WHERE is the period; with more, each request's
    # aggregates are filtered by its own.
    in_period = {p: [within(dated, *p)] if len(periods) > 1 else [] for p in periods}

    groups: dict[str, Any] = {}  # key → expression, in order of first use ("" none)
    for request in requests:
        groups.setdefault(keys(request.group), request.group)
    common, own_where = _where_parts(keys, requests)

    columns: list[Any] = []
    slots: list[list[int]] = []  # per request, the column of each of its aggregates
    presence: list[int | None] = []  # per grouped request, the column counting its rows
    for request, own in zip(requests, own_where, strict=True):
        where = [*in_period[request.period()], *own]
        mine = []
        for aggregate in request.aggregates.values():
            mine.append(len(columns))
            columns.append(_filtered(aggregate, where))
        slots.append(mine)
        if request.group is not None and where:
            presence.append(len(columns))
            columns.append(func.count().filter(and_(*where)))
        else:
            presence.append(None)

    query = select().select_from(first.source)
    query = query.where(*first.cases, or_(*[within(dated, *r) for r in _ranges(periods)]), *common)
    query, heads, group_keys, set_of = _grouping(query, groups, [])
    query = query.add_columns(*heads, *columns)
    by_set: dict[str, list[Any]] = {}
    for row in (await session.execute(query)).all():
        by_set.setdefault(set_of(row), []).append(row)

    start = len(heads)
    out: list[Grouped] = []
    for request, mine, present in zip(requests, slots, presence, strict=True):
        names = list(request.aggregates)
        found = by_set.get(keys(request.group), [])
        if request.group is None:
            figures = {n: empty(a) for n, a in request.aggregates.items()}
            if found:
                row = found[0]
                figures = {n: plain(row[start + c]) for n, c in zip(names, mine, strict=True)}
            out.append([(None, figures)])
            continue
        column = group_keys.index(keys(request.group))
        answer: Grouped = []
        for row in found:
            if present is not None and not row[start + present]:
                continue
            figures = {n: plain(row[start + c]) for n, c in zip(names, mine, strict=True)}
            answer.append((row[column], figures))
        out.append(answer)
    return out
