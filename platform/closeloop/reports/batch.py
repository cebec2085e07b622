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
import itertools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, select, tuple_
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
    future: asyncio.Future[Grouped] | None = None

    def ordered(self) -> bool:
        return any(_ordered(agg) for agg in self.aggregates.values())

    def period(self) -> tuple[dt.date, dt.date]:
        return (self.query.date_from, self.query.date_to)

    def statement_key(self, keys: _Keys) -> tuple[Any, ...]:
        """Requests with the same key read the same rows and share a statement."""
        cases = self.cases_key
        if cases is None:
            cases = "&".join(keys(c) for c in self.cases)
        return (id(self.source), keys(self.dated), cases, self.ordered())


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
    return aggregate.filter(and_(*where)) if where else aggregate


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


def _disjoint(periods: list[tuple[dt.date, dt.date]]) -> bool:
    ordered = sorted(periods)
    return all(a[1] < b[0] for a, b in itertools.pairwise(ordered))


async def execute(
    session: AsyncSession, within: Within, requests: Sequence[Request]
) -> list[Grouped]:
    """Each request's rows, the requests that read the same rows in one statement."""
    keys = _Keys()
    answers: dict[int, Grouped] = {}
    families: dict[tuple[Any, ...], list[int]] = {}
    for index, request in enumerate(requests):
        families.setdefault(request.statement_key(keys), []).append(index)
    for indexes in families.values():
        periods = list(dict.fromkeys(requests[i].period() for i in indexes))
        if _disjoint(periods):
            parts = [indexes]
        else:  # a row may not lie in two periods of one statement: one period each
            parts = [[i for i in indexes if requests[i].period() == p] for p in periods]
        for part in parts:
            found = await _statement(session, within, keys, [requests[i] for i in part])
            answers.update(zip(part, found, strict=True))
    return [answers[i] for i in range(len(requests))]


async def _statement(
    session: AsyncSession, within: Within, keys: _Keys, requests: Sequence[Request]
) -> list[Grouped]:
    first = requests[0]
    dated = first.dated
    periods = list(dict.fromkeys(r.period() for r in requests))
    period_of = {p: i for i, p in enumerate(periods)}
    period_key: Any = None
    if len(periods) > 1:
        period_key = case(*[(within(dated, *p), i) for i, p in enumerate(periods)])

    groups: dict[str, Any] = {}  # key → expression, in order of first use
    for request in requests:
        if request.group is not None:
            groups.setdefault(keys(request.group), request.group)
    group_keys = list(groups)
    sets = list(dict.fromkeys(keys(r.group) for r in requests))  # "" is no grouping

    columns: list[Any] = []
    slots: list[list[int]] = []  # per request, the column of each of its aggregates
    presence: list[int | None] = []
    for request in requests:
        mine = []
        for aggregate in request.aggregates.values():
            mine.append(len(columns))
            columns.append(_filtered(aggregate, request.where))
        slots.append(mine)
        if request.group is not None and request.where:
            presence.append(len(columns))
            columns.append(func.count().filter(and_(*request.where)))
        else:
            presence.append(None)

    heads: list[Any] = [period_key if period_key is not None else literal_column("0")]
    heads += [groups[k] for k in group_keys]
    grouping_id = None
    if len(sets) > 1 and group_keys:
        grouping_id = func.grouping(*[groups[k] for k in group_keys])
        heads.append(grouping_id)
    else:
        heads.append(literal_column("0"))
    statement = select(*heads, *columns).select_from(first.source)
    statement = statement.where(*first.cases, or_(*[within(dated, *r) for r in _ranges(periods)]))
    keyed = [e for e in (period_key,) if e is not None]
    if len(sets) == 1:
        if group_keys:
            statement = statement.group_by(*keyed, groups[group_keys[0]])
        elif keyed:
            statement = statement.group_by(*keyed)
    else:
        statement = statement.group_by(
            func.grouping_sets(*[tuple_(*keyed, *([groups[s]] if s else [])) for s in sets])
        )

    # The GROUPING() bitmask of each set: a 1 bit for each group column not in it.
    width = len(group_keys)
    set_of_id = {}
    for s in sets:
        bits = 0
        for position, k in enumerate(group_keys):
            if k != s:
                bits |= 1 << (width - 1 - position)
        set_of_id[bits if grouping_id is not None else 0] = s
    rows = (await session.execute(statement)).all()
    heads_n = 2 + width
    by_place: dict[tuple[int, str], list[Any]] = {}
    for row in rows:
        place = (int(row[0]) if period_key is not None else 0, set_of_id[int(row[heads_n - 1])])
        by_place.setdefault(place, []).append(row)

    out: list[Grouped] = []
    for request, mine, present in zip(requests, slots, presence, strict=True):
        names = list(request.aggregates)
        place = (period_of[request.period()], keys(request.group))
        found = by_place.get(place, [])
        if request.group is None:
            if not found:
                out.append([(None, {n: _empty(a) for n, a in request.aggregates.items()})])
                continue
            row = found[0]
            out.append(
                [(None, {n: plain(row[heads_n + c]) for n, c in zip(names, mine, strict=True)})]
            )
            continue
        column = 1 + group_keys.index(keys(request.group))
        answer: Grouped = []
        for row in found:
            if present is not None and not row[heads_n + present]:
                continue
            figures = {n: plain(row[heads_n + c]) for n, c in zip(names, mine, strict=True)}
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
