"""Many figures, few statements: the aggregate requests of a whole summary, merged.

A metric definition asks for aggregates over the rows dated in a period (`Request`);
`Engine.run()` hands its requests to the `Batch` of the summary under way, and once
every metric of the summary is waiting for its figures the batch sends them together
(`execute`): the requests that read the same rows (the same source, cases and dating
column) become one statement, whatever their period, conditions and grouping:

* each period is one value of a period key (`CASE WHEN <in this period> THEN i`), so the
  summary's period and its previous period are read in one pass over one index range;
* each request's conditions become a `FILTER (WHERE ...)` on its own aggregates;
* each grouping (none, a dimension, a time bucket) is one of the statement's
  `GROUPING SETS`, every set also grouped by the period key.

A request's answer is what the one statement of its own would give: the groups where
its conditions hold for some row (a hidden `count(*) FILTER` says which), and for no
grouping exactly one row (counts 0, other aggregates null when nothing matched).
Ordered-set aggregates (medians, percentiles) go in statements of their own: they
cannot be hashed, and every grouping set of their statement sorts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import FunctionFilter, WithinGroup

from closeloop.reports.schemas import Figure, ReportQuery

__all__ = ["Batch", "Grouped", "Request", "execute", "key_of"]

T = TypeVar("T")
Grouped = list[tuple[Any, dict[str, Figure]]]
Within = Callable[[Any, dt.date, dt.date], ColumnElement[bool]]


def key_of(element: Any) -> str:
    """Two SQL expressions with the same key render the same SQL with the same values."""
    if element is None:
        return ""
    compiled = element.compile()
    return f"{compiled}|{sorted(compiled.params.items(), key=lambda kv: kv[0])!r}"


class _Keys:
    """`key_of` of each expression once (the requests keep them alive meanwhile)."""

    def __init__(self) -> None:
        self._seen: dict[int, str] = {}

    def __call__(self, element: Any) -> str:
        found = self._seen.get(id(element))
        if found is None:
            found = self._seen[id(element)] = key_of(element)
        return found


@dataclasses.dataclass(slots=True)
class Request:
    """The aggregates over the rows of `source` that hold `cases`, dated in `query`'s
    period by `dated` and holding `where`, per value of `group` (None: one row)."""

    query: ReportQuery
    dated: Any
    where: Sequence[ColumnElement[bool]]
    aggregates: Mapping[str, Any]
    group: Any
    source: Any
    cases: Sequence[ColumnElement[bool]]
    cases_key: str | None = None  # the same for the same `cases`; None: from `cases`
    trend: bool = False  # `group` is a time bucket
    future: asyncio.Future[Grouped] | None = None

    def ordered(self) -> bool:
        return any(_ordered(agg) for agg in self.aggregates.values())

    def period(self) -> tuple[dt.date, dt.date]:
        return (self.query.date_from, self.query.date_to)

    def statement_key(self, keys: _Keys) -> tuple[Any, ...]:
        """Requests with the same key read the same rows and may share a statement."""
        cases = self.cases_key
        if cases is None:
            cases = "&".join(keys(c) for c in self.cases)
        return (id(self.source), keys(self.dated), cases, self.ordered())

    def by_dimension(self) -> bool:
        return self.group is not None and not self.trend


def _inner(aggregate: Any) -> Any:
    while isinstance(aggregate, FunctionFilter | WithinGroup):
        aggregate = aggregate.func if isinstance(aggregate, FunctionFilter) else aggregate.element
    return aggregate


def _ordered(aggregate: Any) -> bool:
    if isinstance(aggregate, FunctionFilter):
        return _ordered(aggregate.func)
    return isinstance(aggregate, WithinGroup)


def _empty(aggregate: Any) -> Figure:
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


async def execute(
    session: AsyncSession, within: Within, requests: Sequence[Request]
) -> list[Grouped]:
    """Each request's rows, the requests that read the same rows in one statement."""
    keys = _Keys()
    families: dict[tuple[Any, ...], list[int]] = {}
    for index, request in enumerate(requests):
        families.setdefault(request.statement_key(keys), []).append(index)
    answers: dict[int, Grouped] = {}
    for indexes in families.values():
        for part in _split(keys, [requests[i] for i in indexes], indexes):
            found = await _statement(session, within, keys, [requests[i] for i in part])
            answers.update(zip(part, found, strict=True))
    return [answers[i] for i in range(len(requests))]


# What reading a row costs next to computing one aggregate for it (some 0.5 µs
# against some 30 ns), for `_split`.
_SCAN = 15


def _split(keys: _Keys, family: Sequence[Request], indexes: list[int]) -> list[list[int]]:
    """The statements for a family of requests that could share one.

    Every aggregate of a statement is computed in every grouping set of it, so the
    breakdowns by a dimension (a few counts each, many sets) get a statement of their
    own when that is cheaper than computing the figures' many aggregates in each of
    their sets, reading the rows twice (ordered aggregates never share a statement
    with others: `Request.statement_key`)."""

    def cost(members: Sequence[Request]) -> int:
        sets = len({keys(r.group) for r in members})
        return sets * sum(len(r.aggregates) + (r.group is not None) for r in members)

    by = [r.by_dimension() for r in family]
    if family[0].ordered() or all(by) or not any(by):
        return [indexes]
    rest = [r for r, b in zip(family, by, strict=True) if not b]
    dims = [r for r, b in zip(family, by, strict=True) if b]
    if cost(rest) + cost(dims) + _SCAN >= cost(family):
        return [indexes]
    return [
        [i for i, b in zip(indexes, by, strict=True) if not b],
        [i for i, b in zip(indexes, by, strict=True) if b],
    ]


async def _statement(
    session: AsyncSession, within: Within, keys: _Keys, requests: Sequence[Request]
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
    group_keys = [k for k in groups if k]
    # A condition every request has goes to the statement's WHERE, once per row.
    shared = set.intersection(*({keys(c) for c in r.where} for r in requests))
    common = [c for c in first.where if keys(c) in shared]

    columns: list[Any] = []
    slots: list[list[int]] = []  # per request, the column of each of its aggregates
    presence: list[int | None] = []  # per grouped request, the column counting its rows
    for request in requests:
        own = [c for c in request.where if keys(c) not in shared]
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

    heads: list[Any] = [groups[k] for k in group_keys]
    several = len(groups) > 1
    if several:
        heads.append(func.grouping(*heads))
    statement = select(*heads, *columns).select_from(first.source)
    statement = statement.where(
        *first.cases, or_(*[within(dated, *r) for r in _ranges(periods)]), *common
    )
    if several:
        sets = [tuple_(*([groups[k]] if k else [])) for k in groups]
        statement = statement.group_by(func.grouping_sets(*sets))
    elif group_keys:
        statement = statement.group_by(*heads)

    # The set of each row: GROUPING() has a 1 bit for each group column not in the set.
    width = len(group_keys)
    set_of_bits = {}
    for k in groups:
        bits = 0
        for position, other in enumerate(group_keys):
            if other != k:
                bits |= 1 << (width - 1 - position)
        set_of_bits[bits] = k
    by_set: dict[str, list[Any]] = {}
    for row in (await session.execute(statement)).all():
        place = set_of_bits[int(row[width])] if several else next(iter(groups))
        by_set.setdefault(place, []).append(row)

    start = len(heads)
    out: list[Grouped] = []
    for request, mine, present in zip(requests, slots, presence, strict=True):
        names = list(request.aggregates)
        found = by_set.get(keys(request.group), [])
        if request.group is None:
            figures = {n: _empty(a) for n, a in request.aggregates.items()}
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


class Batch:
    """Runs the figures of a summary side by side and sends their requests together.

    Each coroutine given to `gather` runs until it awaits `wait` (its requests) or
    ends; when none is running any more, the requests waiting are executed at once and
    the coroutines go on. Other statements of the coroutines (small lookups) go
    through `lock` so they never share the session with a batch."""

    def __init__(self, run: Callable[[list[Request]], Coroutine[Any, Any, list[Grouped]]]):
        self._run = run
        self._running = 0
        self._waiting = 0
        self._pending: list[Request] = []
        self._idle = asyncio.Event()
        self.lock = asyncio.Lock()
        self.statements = 0

    def _block(self) -> None:
        self._running -= 1
        if self._running == 0:
            self._idle.set()

    async def wait(self, requests: Sequence[Request]) -> list[Grouped]:
        loop = asyncio.get_running_loop()
        for request in requests:
            request.future = loop.create_future()
            self._pending.append(request)
        self._waiting += 1
        self._block()
        return [await r.future for r in requests if r.future is not None]

    async def gather(self, coroutines: Sequence[Coroutine[Any, Any, T]]) -> list[T]:
        if not coroutines:
            return []
        self._running = len(coroutines)

        async def one(coroutine: Coroutine[Any, Any, T]) -> T:
            try:
                return await coroutine
            finally:
                self._block()

        tasks = [asyncio.ensure_future(one(c)) for c in coroutines]
        try:
            while True:
                await self._idle.wait()
                self._idle.clear()
                if not self._pending:
                    break
                requests, self._pending = self._pending, []
                self._running += self._waiting
                self._waiting = 0
                try:
                    answers = await self._run(requests)
                except BaseException as exc:
                    for request in requests:
                        assert request.future is not None
                        request.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for request, answer in zip(requests, answers, strict=True):
                    assert request.future is not None
                    request.future.set_result(answer)
            return [task.result() for task in tasks]
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
