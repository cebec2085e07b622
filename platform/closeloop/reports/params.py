"""A report's parameters as people send them (query string, console form, CLI options)
→ `ReportQuery`; 422 naming the parameter at fault. The API, the console and the CLI
all read them here."""

from __future__ import annotations

import datetime as dt
import uuid

from closeloop.config.models import CASE_KINDS
from closeloop.errors import UnprocessableEntity
from closeloop.reports.schemas import GROUP_BY, ReportFilters, ReportQuery, parse_period

__all__ = ["MAX_DAYS", "report_query"]

MAX_DAYS = 366


def _day(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UnprocessableEntity(
            f"{field} must be a date such as 2026-10-01", field=field
        ) from None


def _id(value: str | None, field: str) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise UnprocessableEntity(f"{field} must be an id", field=field) from None


def report_query(
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    period: str | None = None,
    group_by: str | None = None,
    channel: str | None = None,
    kind: str | None = None,
    category: str | None = None,
    severity: str | None = None,
    department: str | None = None,
    handler: str | None = None,
    today: dt.date | None = None,
) -> ReportQuery:
    """`period` (2026-10, 2026-W41, 2026-10-03, 2026) or `from` and `to` (days, both
    inclusive), at most `MAX_DAYS` days; with neither, the month of `today` (the
    tenant's date) up to `today`."""
    if period:
        if date_from or date_to:
            raise UnprocessableEntity("give period or from/to, not both", field="period")
        try:
            first, last = parse_period(period)
        except ValueError as exc:
            raise UnprocessableEntity(str(exc), field="period") from None
    elif date_from and date_to:
        first, last = _day(date_from, "from"), _day(date_to, "to")
    elif date_from or date_to:
        raise UnprocessableEntity("give both from and to", field="to" if date_from else "from")
    elif today is not None:
        first, last = today.replace(day=1), today
    else:
        raise UnprocessableEntity("give period (2026-10) or from and to", field="period")
    if last < first:
        raise UnprocessableEntity("to is before from", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise UnprocessableEntity(f"a report covers at most {MAX_DAYS} days", field="to")
    if group_by is not None and group_by not in GROUP_BY:
        raise UnprocessableEntity(
            f"group_by must be one of {', '.join(GROUP_BY)}", field="group_by"
        )
    if kind is not None and kind not in CASE_KINDS:
        raise UnprocessableEntity(f"kind must be one of {', '.join(CASE_KINDS)}", field="kind")
    filters = ReportFilters(
        channel=channel or None,
        kind=kind or None,
        category=category or None,
        severity=severity or None,
        department=_id(department, "department"),
        handler=_id(handler, "handler"),
    )
    return ReportQuery(first, last, group_by or None, filters)
