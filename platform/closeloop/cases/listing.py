"""Listing cases: filters, full-text search, and a stable keyset cursor.

Order is `received_at` descending, then `id` descending, so a page boundary never
skips or repeats a case, whatever is inserted meanwhile. The cursor is the last
row's `(received_at, id)`, encoded opaquely; the query continues strictly after it
on the `(tenant_id, received_at, id)` index. `order="due"` (the console's queues)
lists the next due first instead, cases without a due time last, then by `id`; its
cursor is the last row's `(due_at, id)`.

`count_cases` tells how many cases match the same filters (not only the rest after a
cursor), exactly up to `COUNT_CAP`; past it the count stops there and says so, so a
count never costs more than reading `COUNT_CAP` index entries.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, false, func, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from closeloop.cases.lifecycle import OPEN, Status
from closeloop.cases.models import Case
from closeloop.cases.search import matches
from closeloop.db import utcnow
from closeloop.errors import UnprocessableEntity

__all__ = [
    "COUNT_CAP",
    "MAX_LIMIT",
    "OPEN_STATUSES",
    "ORDERS",
    "CaseFilters",
    "HandlerLoad",
    "count_cases",
    "decode_cursor",
    "encode_cursor",
    "handler_load",
    "list_cases",
]

MAX_LIMIT = 200
# `received`: newest received first (the API's default); `due`: next due first.
ORDERS = ("received", "due")
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


def encode_cursor(case: Case, order: str = "received") -> str:
    """The cursor after `case`; in `due` order it is tagged, so one order's cursor is
    never read as the other's."""
    if order == "due":
        due = case.due_at.isoformat() if case.due_at is not None else None
        parts: list[str | None] = ["due", due, str(case.id)]
    else:
        parts = [case.received_at.isoformat(), str(case.id)]
    raw = json.dumps(parts, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor() -> UnprocessableEntity:
    return UnprocessableEntity(
        "cursor is not one this API gave out; pass next_cursor unchanged",
        code="invalid_cursor",
        field="cursor",
    )


def _cursor_parts(cursor: str, order: str) -> tuple[dt.datetime | None, uuid.UUID]:
    """The time and id of a cursor of `order` (the time None: a case without due time)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if order == "due":
            tag, at, case_id = parts
            if tag != "due":
                raise ValueError("not a due-order cursor")
        else:
            at, case_id = parts
            if at is None:
                raise ValueError("not a received-order cursor")
        return (None if at is None else dt.datetime.fromisoformat(at)), uuid.UUID(case_id)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise _bad_cursor() from None


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    at, case_id = _cursor_parts(cursor, "received")
    assert at is not None
    return at, case_id


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


def _due_order(query: Select[Any], cursor: str | None) -> Select[Any]:
    """Next due first, no due time last, then `id`; continued strictly after `cursor`."""
    if cursor:
        due, case_id = _cursor_parts(cursor, "due")
        if due is None:
            query = query.where(Case.due_at.is_(None), Case.id > case_id)
        else:
            query = query.where(
                or_(Case.due_at.is_(None), tuple_(Case.due_at, Case.id) > tuple_(due, case_id))
            )
    return query.order_by(Case.due_at.asc().nulls_last(), Case.id.asc())


async def list_cases(
    session: AsyncSession,
    filters: CaseFilters,
    *,
    limit: int,
    cursor: str | None = None,
    order: str = "received",
) -> tuple[list[Case], str | None]:
    """One page of the bound tenant's cases and the cursor of the next (None at the end)."""
    limit = max(1, min(limit, MAX_LIMIT))
    query = _filtered(
        select(Case).options(
            defer(Case.search, raiseload=True), defer(Case.description, raiseload=True)
        ),
        filters,
    )
    if order == "due":
        query = _due_order(query, cursor)
    else:
        if cursor:
            at, case_id = decode_cursor(cursor)
            query = query.where(tuple_(Case.received_at, Case.id) < tuple_(at, case_id))
        query = query.order_by(Case.received_at.desc(), Case.id.desc())
    rows: list[Case] = list((await session.scalars(query.limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1], order) if more and rows else None


async def count_cases(
    session: AsyncSession, filters: CaseFilters, *, cap: int = COUNT_CAP
) -> tuple[int, bool]:
    """How many of the bound tenant's cases match `filters`: `(count, False)` when exact,
    `(cap, True)` when more than `cap` match."""
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
