"""A case's facts (`case_facts`), recomputed from its sources; the rollup moved with them.

`derive()` reads the case, its timeline, its SLA clocks and its follow-up tasks and
answers the row docs/reports.md defines ("The per-case facts"). `refresh()` stores it
and moves `report_daily` by the difference between the old row's contributions
(`rollup.contributions`) and the new one's, in the caller's transaction, under a
transaction-scoped advisory lock on the case, so two refreshes of one case run one
after the other. Recomputing from the sources gives the same row however often it
runs: a redelivered message changes nothing.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, CaseEvent
from closeloop.config import current
from closeloop.db import required_tenant, utcnow
from closeloop.followups.models import FollowupTask
from closeloop.reports import rollup
from closeloop.reports.models import CaseFacts
from closeloop.sla import calendar_service
from closeloop.sla.calendar import BusinessCalendar
from closeloop.sla.models import SlaClock

__all__ = [
    "CONTACT_TYPES",
    "FACT_COLUMNS",
    "Context",
    "derive",
    "forget",
    "load_context",
    "of_new_case",
    "refresh",
]

# Timeline events that are a contact by staff with the customer, when customer-visible.
CONTACT_TYPES = frozenset({"progress", "request_info", "resolve", "invalidate"})
WAITING = "waiting_customer"
DEFAULT_REOPEN_WINDOW_DAYS = 30

FACT_COLUMNS: tuple[str, ...] = tuple(
    c.key for c in CaseFacts.__table__.columns if c.key not in {"tenant_id", "created_at"}
)


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    calendar: BusinessCalendar
    reopen_window: dt.timedelta


async def load_context(session: AsyncSession) -> Context:
    profile = await current.profile(session)
    days = profile.repeat_window_days if profile else DEFAULT_REOPEN_WINDOW_DAYS
    return Context(await calendar_service.load(session, None), dt.timedelta(days=days))


def _user(actor: str) -> uuid.UUID | None:
    if actor.startswith("user:"):
        try:
            return uuid.UUID(actor[5:])
        except ValueError:
            return None
    return None


def _waiting(events: Sequence[Any]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The finished stretches spent waiting on the customer."""
    stretches: list[tuple[dt.datetime, dt.datetime]] = []
    began: dt.datetime | None = None
    for event in events:
        if event.to_status is None or event.from_status == event.to_status:
            continue
        if event.to_status == WAITING and began is None:
            began = event.created_at
        elif event.from_status == WAITING and began is not None:
            stretches.append((began, event.created_at))
            began = None
    return stretches


def _spans(
    calendar: BusinessCalendar,
    start: dt.datetime,
    end: dt.datetime | None,
    waiting: Sequence[tuple[dt.datetime, dt.datetime]],
) -> tuple[int | None, int | None]:
    """Calendar and business seconds from `start` to `end`, waiting time taken out."""
    if end is None:
        return None, None
    end = max(end, start)
    elapsed = end - start
    business = calendar.business_time_between(start, end)
    for began, ended in waiting:
        a, b = max(began, start), min(ended, end)
        if a < b:
            elapsed -= b - a
            business -= calendar.business_time_between(a, b)
    return int(elapsed.total_seconds()), int(business.total_seconds())


def _first(events: Sequence[Any], type_: str) -> Any:
    return next((e for e in events if e.type == type_), None)


def _made_major(events: Sequence[Any]) -> dt.datetime | None:
    for event in events:
        data = event.data or {}
        changes = data.get("changes") or {}
        if event.type == "escalation" and data.get("trigger") == "age" and "severity" in changes:
            moment: dt.datetime = event.created_at
            return moment
    return None


def _facts(
    case: Any,
    events: Sequence[Any],
    clocks: Sequence[Any],
    tasks: Sequence[Any],
    context: Context,
) -> dict[str, Any]:
    contacts = [e for e in events if e.type in CONTACT_TYPES and e.visibility == "customer"]
    waiting = _waiting(events)
    resolve = _first(events, "resolve")
    resolved_at = resolve.created_at if resolve else case.resolved_at
    first_response_at = contacts[0].created_at if contacts else None
    closed_at = None
    if case.status in ("closed", "archived"):
        closes = [e.created_at for e in events if e.to_status == "closed"]
        if closes:
            closed_at = closes[-1]
        elif case.resolved_at is not None:
            closed_at = case.closed_at
    reopens = [
        e.created_at for e in events if e.to_status == "reopened" and e.from_status != e.to_status
    ]
    first_reopened = reopens[0] if reopens else None
    feedback = _first(events, "feedback")
    task = next((t for t in tasks if t.status != "cancelled"), None)
    resolution = case.resolution or {}
    registered = case.received_at
    first_response = _spans(context.calendar, registered, first_response_at, waiting)
    resolution_spans = _spans(context.calendar, registered, resolved_at, waiting)
    close_spans = _spans(context.calendar, registered, closed_at, waiting)
    product = (case.product or {}).get("name")
    resolved_by = _user(resolve.actor) if resolve else None
    return {
        "id": case.id,
        "status": case.status,
        "merged": case.merged_into_id is not None,
        "kind": case.kind,
        "channel": case.channel,
        "category_id": case.category_id,
        "category_code": case.category_code,
        "severity_code": case.severity_code,
        "department_id": case.lead_department_id,
        "handler_id": resolved_by or case.handler_id,
        "resolved_by": resolved_by,
        "product": str(product)[:200] if product else None,
        "is_repeat": bool(case.is_repeat),
        "received_at": registered,
        "first_response_at": first_response_at,
        "first_response_seconds": first_response[0],
        "first_response_business_seconds": first_response[1],
        "first_resolved_at": resolved_at,
        "resolution_seconds": resolution_spans[0],
        "resolution_business_seconds": resolution_spans[1],
        "closed_at": closed_at,
        "close_seconds": close_spans[0],
        "close_business_seconds": close_spans[1],
        "waiting_seconds": int(sum((b - a).total_seconds() for a, b in waiting)),
        "customer_contacts": sum(
            1 for e in contacts if resolved_at is None or e.created_at <= resolved_at
        ),
        "reopen_count": len(reopens),
        "first_reopened_at": first_reopened,
        "reopened_in_window": bool(
            resolved_at is not None
            and first_reopened is not None
            and first_reopened - resolved_at <= context.reopen_window
        ),
        "breached_targets": sorted(
            {c.target for c in clocks if c.breached_at is not None or c.state == "breached"}
        ),
        "escalation_level": case.escalation_level or 0,
        "made_major_at": _made_major(events),
        "satisfaction": (feedback.data or {}).get("satisfaction") if feedback else None,
        "satisfied": (feedback.data or {}).get("satisfied") if feedback else None,
        "satisfaction_at": feedback.created_at if feedback else None,
        "followup_due_by": task.due_by if task else None,
        "followup_done_at": task.done_at if task and task.status == "done" else None,
        "followup_outcome": task.outcome if task and task.status == "done" else None,
        "responsible_party": resolution.get("responsible_party"),
        "solution_type": (str(resolution.get("solution_type") or "")[:64] or None),
        "third_party": (resolution.get("third_party") or None),
    }


async def derive_many(
    session: AsyncSession, case_ids: Sequence[uuid.UUID], context: Context
) -> dict[uuid.UUID, dict[str, Any]]:
    """The facts of each of `case_ids` that exists, as rows (column → value), read with
    one query per source table."""
    tenant_id = required_tenant(session, "reports.facts")
    ids = list(case_ids)
    cases_t, events_t = Case.__table__, CaseEvent.__table__
    clocks_t, tasks_t = SlaClock.__table__, FollowupTask.__table__
    cases = (
        await session.execute(
            select(cases_t).where(cases_t.c.tenant_id == tenant_id, cases_t.c.id.in_(ids))
        )
    ).all()
    events: dict[uuid.UUID, list[Any]] = collections.defaultdict(list)
    clocks: dict[uuid.UUID, list[Any]] = collections.defaultdict(list)
    tasks: dict[uuid.UUID, list[Any]] = collections.defaultdict(list)
    for table, into, order in (
        (events_t, events, (events_t.c.created_at, events_t.c.id)),
        (clocks_t, clocks, (clocks_t.c.id,)),
        (tasks_t, tasks, (tasks_t.c.created_at, tasks_t.c.id)),
    ):
        found = await session.execute(
            select(table)
            .where(table.c.tenant_id == tenant_id, table.c.case_id.in_(ids))
            .order_by(table.c.case_id, *order)
        )
        for row in found:
            into[row.case_id].append(row)
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for case in cases:
        facts = _facts(case, events[case.id], clocks[case.id], tasks[case.id], context)
        facts["tenant_id"] = tenant_id
        out[case.id] = facts
    return out


async def derive(
    session: AsyncSession, case_id: uuid.UUID, *, context: Context | None = None
) -> dict[str, Any] | None:
    """The case's facts as a row (column → value), or None when there is no such case."""
    found = await derive_many(session, [case_id], context or await load_context(session))
    return found.get(case_id)


def _comparable(row: Any) -> dict[str, Any]:
    return {name: row[name] for name in FACT_COLUMNS if name != "updated_at"}


async def refresh_many(
    session: AsyncSession, case_ids: Sequence[uuid.UUID], *, context: Context | None = None
) -> int:
    """Recompute and store the facts of `case_ids` and move the rollup by the
    difference; answers how many cases' facts changed. Each case is locked (a
    transaction-scoped advisory lock, taken in id order) so that two refreshes of one
    case run one after the other."""
    tenant_id = required_tenant(session, "reports.facts")
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    keys = [f"facts:{case_id}" for case_id in ids]
    await session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
            "FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(k, n)"
        ),
        {"keys": keys},
    )
    facts_t = CaseFacts.__table__
    old = {
        row.id: dict(row._mapping)
        for row in await session.execute(
            select(facts_t).where(facts_t.c.tenant_id == tenant_id, facts_t.c.id.in_(ids))
        )
    }
    new = await derive_many(session, ids, context or await load_context(session))
    zone = await rollup.tenant_zone(session)
    delta: dict[rollup.Bucket, int] = collections.defaultdict(int)
    changed, gone = [], []
    for case_id in ids:
        before, after = old.get(case_id), new.get(case_id)
        if before is not None and after is not None and _comparable(before) == _comparable(after):
            continue
        for bucket, n in rollup.contributions(before, zone).items() if before else ():
            delta[bucket] -= n
        for bucket, n in rollup.contributions(after, zone).items() if after else ():
            delta[bucket] += n
        if after is not None:
            after["updated_at"] = utcnow()
            changed.append(after)
        elif before is not None:
            gone.append(case_id)
    if changed:
        statement = insert(CaseFacts)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "id"],
                set_={name: statement.excluded[name] for name in FACT_COLUMNS if name != "id"},
            ),
            changed,
        )
    if gone:
        await session.execute(delete(CaseFacts).where(CaseFacts.id.in_(gone)))
    await rollup.apply(session, tenant_id, {b: n for b, n in delta.items() if n})
    return len(changed) + len(gone)


async def refresh(
    session: AsyncSession, case_id: uuid.UUID, *, context: Context | None = None
) -> bool:
    """Recompute and store one case's facts and move the rollup; True when they changed."""
    return bool(await refresh_many(session, [case_id], context=context))


async def forget(session: AsyncSession, case_ids: Sequence[uuid.UUID]) -> None:
    """Take cases about to be deleted out of the rollup (their facts go with the cases)."""
    if not case_ids:
        return
    tenant_id = required_tenant(session, "reports.facts")
    zone = await rollup.tenant_zone(session)
    delta: dict[rollup.Bucket, int] = {}
    for start in range(0, len(case_ids), 1000):
        rows = await session.scalars(
            select(CaseFacts).where(CaseFacts.id.in_(case_ids[start : start + 1000]))
        )
        for facts in rows:
            row = {name: getattr(facts, name) for name in FACT_COLUMNS}
            for bucket, n in rollup.contributions(row, zone).items():
                delta[bucket] = delta.get(bucket, 0) - n
    await rollup.apply(session, tenant_id, {b: n for b, n in delta.items() if n})


def of_new_case(
    case: Any, events: Sequence[Any], clocks: Sequence[Any], context: Context
) -> dict[str, Any]:
    """The facts of a case its writer has just made, from its rows in memory (its
    timeline events by time, its SLA clocks; a new case has no follow-up task), as
    `derive_many` would read them back: an import computes them with its batch instead
    of reading every case back. The caller stores them and moves the rollup."""
    return _facts(case, events, clocks, (), context)
