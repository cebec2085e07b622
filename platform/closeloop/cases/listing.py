"""Listing cases: filters, full-text search, and a stable keyset cursor.

Order is `received_at` descending, then `id` descending, so a page boundary never
skips or repeats a case, whatever is inserted meanwhile. The cursor is the last
row's `(received_at, id)`, encoded opaquely; the query continues strictly after it
on the `(tenant_id, received_at, id)` index. `order="due"` (the console's queues)
lists the next due first instead, cases without a due time last (as if due at
`NO_DUE`), then by `id`; its cursor is the last row's `(due time, id)`.

A filter naming a department, handler or category id the tenant has not (another
tenant's or nobody's: one answer) is `NotFound` (404), as every other tenant's id is,
not an empty list.

`count_cases` tells how many cases match the same filters (not only the rest after a
cursor), exactly up to `COUNT_CAP`; past it the count stops there and says so, so a
count never costs more than reading `COUNT_CAP` index entries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, false, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from closeloop.cases.lifecycle import OPEN, Status
from closeloop.cases.models import Case
from closeloop.cases.search import matches
from closeloop.config.models import Category, Department
from closeloop.db import utcnow
from closeloop.errors import NotFound
from closeloop.identity.models import User
from closeloop.paging import after, page

__all__ = [
    "COUNT_CAP",
    "MAX_LIMIT",
    "NO_DUE",
    "OPEN_STATUSES",
    "ORDERS",
    "CaseFilters",
    "HandlerLoad",
    "check_filter_ids",
    "count_cases",
    "handler_load",
    "list_cases",
]

MAX_LIMIT = 200
# `received`: newest received first (the API's default); `due`: next due first.
ORDERS = ("received", "due")
# Where a case without a due time sorts in `due` order: after every real one.
NO_DUE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
COUNT_CAP = 10_000  # `?count=true` counts exactly up to here
# Not yet resolved: where a passed `due` means a breach (`lifecycle.OPEN`).
OPEN_STATUSES = tuple(s.value for s in Status if s in OPEN)


@dataclasses.dataclass(frozen=True, slots=True)
class CaseFilters:
    """Every filter is optional; given ones must all hold."""

    status: Sequence[str] = ()
    kind: str | None = None
    severity: str | None = None  # severity code
    category: str | None = None  # category id or code
    assignee: uuid.UUID | None = None  # handler
    department: uuid.UUID | None = None  # lead department
    channel: str | None = None
    breached: bool | None = None
    received_from: dt.datetime | None = None  # inclusive
    received_to: dt.datetime | None = None  # exclusive
    q: str | None = None
    assigned: bool | None = None  # has a handler (False: none yet)
    escalated: bool | None = None  # escalation level above 0
    due_before: dt.datetime | None = None  # due strictly before this time


async def check_filter_ids(session: AsyncSession, f: CaseFilters) -> None:
    """404 for a filter's department, handler or category id the tenant has not."""
    named: list[tuple[type[Any], uuid.UUID, str]] = []
    if f.department is not None:
        named.append((Department, f.department, "department"))
    if f.assignee is not None:
        named.append((User, f.assignee, "user"))
    if f.category:
        with contextlib.suppress(ValueError):  # a code: no case has an unknown one
            named.append((Category, uuid.UUID(f.category), "category"))
    for model, id_, what in named:
        if await session.scalar(select(model.id).where(model.id == id_)) is None:
            raise NotFound(f"no {what} {id_}")


def _filtered(query: Select[Any], f: CaseFilters) -> Select[Any]:
    if f.status:
        query = query.where(Case.status.in_(list(f.status)))
    if f.kind:
        query = query.where(Case.kind == f.kind)
    if f.severity:
        query = query.where(Case.severity_code == f.severity)
    if f.category:
        try:
            query = query.where(Case.category_id == uuid.UUID(f.category))
        except ValueError:
            query = query.where(Case.category_code == f.category)
    if f.assignee is not None:
        query = query.where(Case.handler_id == f.assignee)
    if f.department is not None:
        query = query.where(Case.lead_department_id == f.department)
    if f.channel:
        query = query.where(Case.channel == f.channel)
    if f.received_from is not None:
        query = query.where(Case.received_at >= f.received_from)
    if f.received_to is not None:
        query = query.where(Case.received_at < f.received_to)
    if f.breached is not None:
        now = utcnow()
        breached = Case.status.in_(OPEN_STATUSES) & (Case.due_at < now)
        if f.breached:
            query = query.where(breached)
        else:
            query = query.where(
                or_(Case.due_at.is_(None), Case.due_at >= now, Case.status.not_in(OPEN_STATUSES))
            )
    if f.assigned is not None:
        query = query.where(
            Case.handler_id.is_not(None) if f.assigned else Case.handler_id.is_(None)
        )
    if f.escalated is not None:
        query = query.where(
            Case.escalation_level > 0 if f.escalated else Case.escalation_level == 0
        )
    if f.due_before is not None:
        query = query.where(Case.due_at < f.due_before)
    if f.q is not None and f.q.strip():
        clause = matches(f.q)
        query = query.where(clause if clause is not None else false())
    return query


async def list_cases(
    session: AsyncSession,
    filters: CaseFilters,
    *,
    limit: int,
    cursor: str | None = None,
    order: str = "received",
) -> tuple[list[Case], str | None]:
    """One page of the bound tenant's cases and the cursor of the next (None at the end)."""
    await check_filter_ids(session, filters)
    limit = max(1, min(limit, MAX_LIMIT))
    query = _filtered(
        select(Case).options(
            defer(Case.search, raiseload=True), defer(Case.description, raiseload=True)
        ),
        filters,
    )
    if order == "due":
        due = func.coalesce(Case.due_at, NO_DUE)
        query = after(query, (due, Case.id), cursor, descending=False)
        query = query.order_by(due, Case.id).limit(limit + 1)
        return page(
            (await session.scalars(query)).all(), limit, lambda c: (c.due_at or NO_DUE, c.id)
        )
    query = after(query, (Case.received_at, Case.id), cursor, descending=True)
    query = query.order_by(Case.received_at.desc(), Case.id.desc()).limit(limit + 1)
    return page((await session.scalars(query)).all(), limit, lambda c: (c.received_at, c.id))


async def count_cases(
    session: AsyncSession, filters: CaseFilters, *, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """How many of the bound tenant's cases match `filters`: `(count, False)` when exact,
    `(cap, True)` when more than `cap` match."""
    await check_filter_ids(session, filters)
    matching = _filtered(select(literal(1)).select_from(Case), filters).limit(cap + 1)
    found = int(await session.scalar(select(func.count()).select_from(matching.subquery())) or 0)
    return (cap, True) if found > cap else (found, False)


@dataclasses.dataclass(frozen=True, slots=True)
class HandlerLoad:
    """One handler's open cases, how many of them fall due before `until`, how many are
    past due."""

    handler_id: uuid.UUID
    open: int
    due_soon: int
    breached: int


async def handler_load(session: AsyncSession, *, until: dt.datetime) -> list[HandlerLoad]:
    """The bound tenant's open cases per handler (most open first), as the list filters
    count them: open is `OPEN_STATUSES`, breached is `breached=true`."""
    now = utcnow()
    query = (
        select(
            Case.handler_id,
            func.count(),
            func.count().filter(Case.due_at >= now, Case.due_at < until),
            func.count().filter(Case.due_at < now),
        )
        .where(Case.status.in_(OPEN_STATUSES), Case.handler_id.is_not(None))
        .group_by(Case.handler_id)
        .order_by(func.count().desc(), Case.handler_id)
    )
    return [
        HandlerLoad(handler_id=row[0], open=row[1], due_soon=row[2], breached=row[3])
        for row in (await session.execute(query)).all()
        if row[0] is not None
    ]
