"""Which facts a report reads: the caller's scope, the filters, the period, the buckets.

Everything here builds SQL conditions on `case_facts`; `definitions` and `service`
combine them, so the summary and the case lists count the same rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zoneinfo
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, DateTime, Integer, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config.models import Category, Channel, Department, Severity
from closeloop.errors import UnprocessableEntity
from closeloop.identity.models import User
from closeloop.reports.models import CaseFacts
from closeloop.reports.schemas import DIMENSIONS, ReportFilters, ReportQuery

__all__ = [
    "KIND_LABELS",
    "Labels",
    "Scope",
    "bucket_key",
    "bucket_range",
    "day_start",
    "dimension_column",
    "load_labels",
]

KIND_LABELS = {
    "complaint": ("投诉", "Complaint"),
    "service_request": ("服务请求", "Service request"),
    "inquiry": ("咨询", "Inquiry"),
    "suggestion": ("建议", "Suggestion"),
}


def day_start(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The instant the tenant-local `day` begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def dimension_column(dimension: str) -> Any:
    return {
        "channel": CaseFacts.channel,
        "kind": CaseFacts.kind,
        "category": CaseFacts.category_code,
        "severity": CaseFacts.severity_code,
        "department": CaseFacts.department_id,
        "handler": CaseFacts.handler_id,
    }[dimension]


def bucket_key(bucket: str, local: dt.datetime | dt.date) -> str:
    day = local.date() if isinstance(local, dt.datetime) else local
    if bucket == "day":
        return f"day:{day.isoformat()}"
    if bucket == "week":
        year, week, _ = day.isocalendar()
        return f"week:{year}-W{week:02d}"
    return f"month:{day.year}-{day.month:02d}"


def bucket_range(key: str) -> tuple[dt.date, dt.date] | None:
    """A trend key (`day:2026-10-03`, `week:2026-W41`, `month:2026-10`) → its days."""
    from closeloop.reports.schemas import parse_period

    kind, _, value = key.partition(":")
    if kind not in ("day", "week", "month") or not value:
        return None
    try:
        return parse_period(value)
    except ValueError:
        return None


@dataclasses.dataclass(slots=True)
class Labels:
    """Names for the keys of breakdown rows, in the tenant's language."""

    zh: bool
    channel: dict[str, str] = dataclasses.field(default_factory=dict)
    category: dict[str, str] = dataclasses.field(default_factory=dict)
    category_parent: dict[str, str | None] = dataclasses.field(default_factory=dict)
    category_by_id: dict[uuid.UUID, Category] = dataclasses.field(default_factory=dict)
    severity: dict[str, str] = dataclasses.field(default_factory=dict)
    severity_rank: dict[str, int] = dataclasses.field(default_factory=dict)
    department: dict[str, str] = dataclasses.field(default_factory=dict)
    user: dict[str, str] = dataclasses.field(default_factory=dict)

    def name(self, row: Any) -> str:
        return str(row.name_zh if self.zh else row.name_en)

    def of(self, dimension: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        text = str(value)
        if dimension == "kind":
            pair = KIND_LABELS.get(text)
            return (pair[0] if self.zh else pair[1]) if pair else text
        table: dict[str, str] = (
            getattr(self, dimension, {}) if dimension != "handler" else self.user
        )
        return table.get(text, text)


async def load_labels(session: AsyncSession, locale: str) -> Labels:
    labels = Labels(zh=locale.lower().startswith("zh"))
    for channel in await session.scalars(select(Channel)):
        labels.channel[channel.code] = labels.name(channel)
    categories = list(await session.scalars(select(Category)))
    for category in categories:
        labels.category_by_id[category.id] = category
        labels.category[category.code] = labels.name(category)
    for category in categories:
        parent = labels.category_by_id.get(category.parent_id) if category.parent_id else None
        labels.category_parent[category.code] = parent.code if parent else None
    for severity in await session.scalars(select(Severity)):
        labels.severity[severity.code] = labels.name(severity)
        labels.severity_rank[severity.code] = severity.rank
    for department in await session.scalars(select(Department)):
        labels.department[str(department.id)] = labels.name(department)
    for user_id, name in (await session.execute(select(User.id, User.display_name))).all():
        labels.user[str(user_id)] = name
    return labels


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """The rows a report may read: the caller's department, the filters, the zone."""

    zone: zoneinfo.ZoneInfo
    department: uuid.UUID | None
    filters: ReportFilters
    category_ids: tuple[uuid.UUID, ...] | None  # the category filter with its subtree

    def cases(self) -> list[ColumnElement[bool]]:
        """Conditions on `case_facts` for the cases counted at all."""
        f = self.filters
        equal: list[tuple[Any, object]] = [
            (CaseFacts.department_id, self.department),
            (CaseFacts.department_id, f.department),
            (CaseFacts.channel, f.channel),
            (CaseFacts.kind, f.kind),
            (CaseFacts.severity_code, f.severity),
            (CaseFacts.handler_id, f.handler),
        ]
        conditions: list[ColumnElement[bool]] = [CaseFacts.merged.is_(False)]
        conditions += [column == value for column, value in equal if value is not None]
        if self.category_ids is not None:
            conditions.append(CaseFacts.category_id.in_(self.category_ids))
        return conditions

    def narrowed(self) -> bool:
        """Whether `cases()` says more than "not merged" (a department or a filter)."""
        return len(self.cases()) > 1

    def within(self, column: Any, date_from: dt.date, date_to: dt.date) -> ColumnElement[bool]:
        """`column` (an instant) falls on one of the tenant-local days."""
        start = day_start(date_from, self.zone)
        end = day_start(date_to + dt.timedelta(days=1), self.zone)
        return (column >= start) & (column < end)  # type: ignore[no-any-return]

    def period(self, column: Any, query: ReportQuery) -> ColumnElement[bool]:
        return self.within(column, query.date_from, query.date_to)

    def bucket_index(self, column: Any, starts: Sequence[dt.date], end: dt.date) -> Any:
        """Which of the buckets beginning on the tenant-local days `starts` (the last
        one ending before `end`) `column` falls in: 1 for the first, 0 before the
        first, `len(starts) + 1` from `end` on. The same instants as `within` for the
        bucket's days, found by a binary search in one array per statement rather
        than a time zone conversion per row."""
        bounds = [day_start(day, self.zone) for day in (*starts, end)]
        array = bindparam(None, bounds, type_=ARRAY(DateTime(timezone=True)))
        return func.width_bucket(column, array, type_=Integer)


def category_subtree(labels: Labels, value: str) -> tuple[uuid.UUID, ...]:
    """The ids of the category `value` (a code or an id) and everything under it;
    422 naming `category` when there is none."""
    root = None
    try:
        root = labels.category_by_id.get(uuid.UUID(value))
    except ValueError:
        root = next((c for c in labels.category_by_id.values() if c.code == value), None)
    if root is None:
        raise UnprocessableEntity(f"no category {value!r}", field="category")
    children: dict[uuid.UUID | None, list[uuid.UUID]] = {}
    for category in labels.category_by_id.values():
        children.setdefault(category.parent_id, []).append(category.id)
    found, todo = [], [root.id]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return tuple(found)


def dimension_value(dimension: str, value: str) -> Any:
    """A breakdown key's value as the column holds it; 422 naming `key` otherwise."""
    if dimension not in DIMENSIONS:
        raise UnprocessableEntity(f"unknown dimension {dimension!r}", field="key")
    if dimension in ("department", "handler"):
        if value == "none":
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            raise UnprocessableEntity(f"{dimension} must be an id", field="key") from None
    return None if value == "none" else value


def equals_or_null(column: Any, value: Any) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value  # type: ignore[no-any-return]


def always() -> ColumnElement[bool]:
    return true()
