"""Many figures, few statements: the aggregate requests of a whole summary, sent together.

A metric definition asks for aggregates over the rows dated in a period (`Request`,
built by `Engine.ask`); `Engine.run()` hands its requests to the `Batch` of the summary
under way, and once every metric of the summary waits for its figures the batch sends
all the requests waiting (`execute`): those that read the same rows (source, cases,
dating column) share a statement (`closeloop.reports._merged`), whatever their period,
conditions and grouping. Ordered-set aggregates (medians, percentiles) get statements
of their own (they cannot be hashed, and each grouping set of theirs sorts), and a
family's breakdowns by a dimension get one when that costs less (`_split`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.reports._merged import Days, Keys, counted, empty, is_ordered, statement, totals
from closeloop.reports.models import CaseFacts
from closeloop.reports.schemas import Figure, ReportQuery

__all__ = ["Batch", "Grouped", "Request", "execute"]

T = TypeVar("T")
Grouped = list[tuple[Any, dict[str, Figure]]]


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
    starts: tuple[dt.date, ...] | None = None  # a trend: `group` is the bucket beginning
    future: asyncio.Future[Grouped] | None = None

    def ordered(self) -> bool:
        return any(is_ordered(agg) for agg in self.aggregates.values())

    def period(self) -> tuple[dt.date, dt.date]:
        return (self.query.date_from, self.query.date_to)

    def statement_key(self, keys: Keys) -> tuple[Any, ...]:
        """Requests with the same key read the same rows and may share a statement."""
        cases = self.cases_key
        if cases is None:
            cases = "&".join(keys(c) for c in self.cases)
        return (id(self.source), keys(self.dated), cases, self.ordered())

    def by_dimension(self) -> bool:
        return self.group is not None and self.starts is None

    def additive(self) -> bool:
        """Whether every aggregate is a count (a sum over parts of its rows)."""
        return all(empty(aggregate) == 0 for aggregate in self.aggregates.values())


Job = tuple[list[int], Callable[[AsyncSession], Coroutine[Any, Any, list[Grouped]]], int]


async def execute(
    sessions: Sequence[AsyncSession],
    days: Days,
    requests: Sequence[Request],
    *,
    merge: bool = True,
) -> list[Grouped]:
    """Each request's rows, the requests that read the same rows in one statement
    (`merge=False`: each request a statement of its own, on the first session). The
    statements are spread over `sessions` (`closeloop.reports.lanes`): each session
    runs the largest statement not yet sent when it is free."""
    keys = Keys()
    if not merge:
        return [(await statement(sessions[0], days.within, keys, [r]))[0] for r in requests]
    families: dict[tuple[Any, ...], list[int]] = {}
    for index, request in enumerate(requests):
        families.setdefault(request.statement_key(keys), []).append(index)
    parts = [
        part
        for indexes in families.values()
        for part in _split(keys, [requests[i] for i in indexes], indexes)
    ]
    parts = [piece for part in parts for piece in _alone(requests, part)]
    # The parts without any grouping, whatever their dating column, read their rows
    # together: one statement for the figures of a summary (not their breakdowns).
    ungrouped: dict[tuple[Any, ...], list[int]] = {}
    grouped: list[list[int]] = []
    for part in parts:
        if all(requests[i].group is None for i in part):
            ungrouped.setdefault(requests[part[0]].statement_key(keys)[::2], []).extend(part)
        else:
            grouped.append(part)
    jobs: list[Job] = []
    for part in ungrouped.values():
        members = [requests[i] for i in part]
        run: Any = functools.partial(totals, days=days, requests=members)
        jobs.append((part, run, _weight(keys, members)))
    for part in grouped:
        members = [requests[i] for i in part]
        if _counted(members):
            run = functools.partial(counted, days=days, keys=keys, requests=members)
        else:
            run = functools.partial(statement, within=days.within, keys=keys, requests=members)
        jobs.append((part, run, _weight(keys, members)))
    answers: dict[int, Grouped] = {}
    for (part, _, _), found in zip(jobs, await _spread(sessions, jobs), strict=True):
        answers.update(zip(part, found, strict=True))
    return [answers[i] for i in range(len(requests))]


async def _spread(sessions: Sequence[AsyncSession], jobs: Sequence[Job]) -> list[list[Grouped]]:
    """Each job's answer; every session runs the heaviest job left when it is free
    (the first error stops the others taking more and is raised)."""
    found: dict[int, list[Grouped]] = {}
    heaviest_first = iter(sorted(range(len(jobs)), key=lambda j: -jobs[j][2]))
    failed: list[Exception] = []

    async def lane(session: AsyncSession) -> None:
        for j in heaviest_first:
            if failed:
                return
            try:
                found[j] = await jobs[j][1](session)
            except Exception as error:
                failed.append(error)
                return

    await asyncio.gather(*(lane(session) for session in sessions))
    if failed:
        raise failed[0]
    return [found[j] for j in range(len(jobs))]


def _weight(keys: Keys, members: Sequence[Request]) -> int:
    """How long a statement takes next to the others of a summary, roughly: sorts
    (medians) first, then the clocks (more rows than the facts), then by the
    aggregates computed per row (each in every grouping set)."""
    sets = len({keys(r.group) for r in members})
    work = _SCAN + sets * sum(len(r.aggregates) + 1 for r in members)
    if any(r.ordered() for r in members):
        work += 1000
    if members[0].source is not CaseFacts:
        work += 500
    return work


def _counted(members: Sequence[Request]) -> bool:
    """Whether `counted` answers these requests (counts over several periods or by
    time bucket)."""
    several = len({r.period() for r in members}) > 1
    trend = any(r.starts is not None for r in members)
    return (several or trend) and all(r.additive() for r in members)


def _alone(requests: Sequence[Request], part: list[int]) -> list[list[int]]:
    """`part` without its ungrouped requests of a period no grouped request of it has
    (a trend's previous period), which go with the other figures (`totals`): every
    aggregate of a statement is computed in each of its grouping sets, a median in
    each time bucket too. Counts are summed from stretches of days instead
    (`counted`), all periods with the same aggregates: those stay."""
    members = [requests[i] for i in part]
    if all(r.additive() for r in members):
        return [part]
    grouped = {r.period() for r in members if r.group is not None}
    if not grouped:
        return [part]
    apart = [i for i in part if requests[i].group is None and requests[i].period() not in grouped]
    rest = [i for i in part if i not in apart]
    return [p for p in (rest, apart) if p]


# What reading a row costs next to computing one aggregate for it (some 0.5 µs
# against some 30 ns), for `_split`.
_SCAN = 15


def _split(keys: Keys, family: Sequence[Request], indexes: list[int]) -> list[list[int]]:
    """The statements for a family of requests that could share one.

    Every aggregate of a statement is computed in every grouping set of it, so the
    breakdowns by a dimension (a few counts each, many sets) get a statement of their
    own when that is cheaper than computing the figures' many aggregates in each of
    their sets, reading the rows twice (ordered aggregates never share a statement
    with others: `Request.statement_key`)."""

    def cost(members: Sequence[Request]) -> int:
        sets = {keys(r.group) for r in members}
        if _counted(members):  # no set for the figures without a dimension
            sets = {keys(r.group) for r in members if r.by_dimension()} or {""}
        return len(sets) * sum(len(r.aggregates) + 1 for r in members)

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
