"""The daily rollup (`report_daily`): additive counts per tenant-local day × measure ×
dimensions, each a pure function of one case's facts (`contributions`).

Kept live by `facts.refresh()` (the difference between a case's old and new
contributions) and recomputed for a range of days by `rebuild_days()`; both go through
`contributions`, so a rebuild gives back exactly the rollup kept live.
"""

from __future__ import annotations

import collections
import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config import current
from closeloop.reports.models import CaseFacts, ReportDaily

__all__ = [
    "MEASURES",
    "Bucket",
    "apply",
    "contributions",
    "day_start",
    "difference",
    "rebuild_days",
    "tenant_zone",
]

# (day, measure, kind, channel, category, severity, department)
Bucket = tuple[dt.date, str, str, str, str, str, str]

# measure → (the fact that dates it, the condition on the facts)
MEASURES: dict[str, tuple[str, Any]] = {
    "received": ("received_at", lambda f: True),
    "complaints": ("received_at", lambda f: f["kind"] == "complaint"),
    "repeat": ("received_at", lambda f: f["is_repeat"]),
    "resolved": ("first_resolved_at", lambda f: True),
    "fcr": ("first_resolved_at", lambda f: f["reopen_count"] == 0 and f["customer_contacts"] <= 1),
    "reopened_in_window": ("first_resolved_at", lambda f: f["reopened_in_window"]),
    "closed": ("closed_at", lambda f: True),
    "answered": ("satisfaction_at", lambda f: True),
    "satisfied": ("satisfaction_at", lambda f: bool(f["satisfied"])),
    "made_major": ("made_major_at", lambda f: True),
}


async def tenant_zone(session: AsyncSession) -> zoneinfo.ZoneInfo:
    tenant = await current.tenant(session)
    return zoneinfo.ZoneInfo(tenant.timezone)


def contributions(facts: Mapping[str, Any], zone: zoneinfo.ZoneInfo) -> dict[Bucket, int]:
    """What one case adds to the rollup (nothing for a merged duplicate)."""
    if facts["merged"]:
        return {}
    department = facts["department_id"]
    dims = (
        facts["kind"],
        facts["channel"],
        facts["category_code"] or "",
        facts["severity_code"] or "",
        str(department) if department else "",
    )
    out: dict[Bucket, int] = {}
    for measure, (dated_by, holds) in MEASURES.items():
        moment = facts[dated_by]
        if moment is not None and holds(facts):
            out[(moment.astimezone(zone).date(), measure, *dims)] = 1
    return out


def difference(old: Mapping[Bucket, int], new: Mapping[Bucket, int]) -> dict[Bucket, int]:
    delta: dict[Bucket, int] = collections.defaultdict(int)
    for bucket, n in new.items():
        delta[bucket] += n
    for bucket, n in old.items():
        delta[bucket] -= n
    return {bucket: n for bucket, n in delta.items() if n}


_KEYS = ("day", "measure", "kind", "channel", "category", "severity", "department")


async def apply(session: AsyncSession, tenant_id: uuid.UUID, delta: Mapping[Bucket, int]) -> None:
    """Add `delta` to the rollup; a bucket that comes to 0 is removed."""
    if not delta:
        return
    values = _values(tenant_id, delta.items())
    statement = insert(ReportDaily)
    await session.execute(
        statement.on_conflict_do_update(
            constraint="uq_report_daily_bucket", set_={"n": ReportDaily.n + statement.excluded.n}
        ),
        values,
    )
    days = {bucket[0] for bucket in delta}
    await session.execute(delete(ReportDaily).where(ReportDaily.day.in_(days), ReportDaily.n == 0))


async def rebuild_days(
    session: AsyncSession, date_from: dt.date | None, date_to: dt.date | None
) -> int:
    """Recompute the rollup of the days `date_from`..`date_to` (None: open-ended) from
    `case_facts`; answers the buckets written."""
    tenant_id = await _tenant(session)
    zone = await tenant_zone(session)
    conditions = []
    for column in {dated for dated, _ in MEASURES.values()}:
        col = getattr(CaseFacts, column)
        condition = col.is_not(None)
        if date_from is not None:
            condition &= col >= day_start(date_from, zone)
        if date_to is not None:
            condition &= col < day_start(date_to + dt.timedelta(days=1), zone)
        conditions.append(condition)
    counts: dict[Bucket, int] = collections.defaultdict(int)
    result = await session.execute(
        select(CaseFacts.__table__).where(CaseFacts.tenant_id == tenant_id, or_(*conditions))
    )
    for row in result.mappings():
        for bucket, n in contributions(dict(row), zone).items():
            if (date_from is None or bucket[0] >= date_from) and (
                date_to is None or bucket[0] <= date_to
            ):
                counts[bucket] += n
    stale = delete(ReportDaily)
    if date_from is not None:
        stale = stale.where(ReportDaily.day >= date_from)
    if date_to is not None:
        stale = stale.where(ReportDaily.day <= date_to)
    await session.execute(stale)
    await _insert(session, tenant_id, counts.items())
    return len(counts)


async def _insert(
    session: AsyncSession, tenant_id: uuid.UUID, counts: Iterable[tuple[Bucket, int]]
) -> None:
    values = _values(tenant_id, counts)
    for start in range(0, len(values), 5000):
        await session.execute(insert(ReportDaily), values[start : start + 5000])


def _values(tenant_id: uuid.UUID, counts: Iterable[tuple[Bucket, int]]) -> list[dict[str, Any]]:
    """Rows of `report_daily` for the non-zero counts, in bucket order."""
    return [
        {"tenant_id": tenant_id, **dict(zip(_KEYS, bucket, strict=True)), "n": n}
        for bucket, n in sorted(counts)
        if n
    ]


async def _tenant(session: AsyncSession) -> uuid.UUID:
    return (await current.tenant(session)).id


def day_start(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)
