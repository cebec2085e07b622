"""Case exports (CSV and Excel). Customer data is always masked in an export: a file
leaves the system's access control, so the `pii` permission does not travel with it."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.listing import MAX_LIMIT, CaseFilters, list_cases
from closeloop.cases.views import case_summaries
from closeloop.errors import UnprocessableEntity
from closeloop.identity.models import Permission, Role
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["COLUMNS", "EXPORT_LIMIT", "EXPORT_ROLES", "export_cases"]

EXPORT_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.AGENT, Role.VIEWER)
EXPORT_LIMIT = 50_000
COLUMNS = (
    "number", "kind", "status", "channel", "received_at", "title", "category", "severity",
    "escalation_level", "handler_id", "due", "is_repeat",
    "customer_nickname", "customer_name", "customer_phone", "customer_email",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A value as a spreadsheet cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def _rows(
    session: AsyncSession, settings: Settings, principal: Principal, filters: CaseFilters
) -> list[list[Any]]:
    masked_viewer = dataclasses.replace(
        principal, permissions=principal.permissions - {Permission.PII.value}
    )
    rows: list[list[Any]] = []
    cursor: str | None = None
    while True:
        cases, cursor = await list_cases(session, filters, limit=MAX_LIMIT, cursor=cursor)
        for item in await case_summaries(session, settings, masked_viewer, cases):
            customer = item.customer
            rows.append(
                [
                    _cell(v)
                    for v in (
                        item.number, item.kind, item.status, item.channel, item.received_at,
                        item.title, item.category, item.severity, item.escalation_level,
                        item.handler_id, item.due, item.is_repeat,
                        customer.nickname if customer else None,
                        customer.name if customer else None,
                        customer.phone if customer else None,
                        customer.email if customer else None,
                    )
                ]
            )  # fmt: skip
        if len(rows) > EXPORT_LIMIT:
            raise UnprocessableEntity(
                f"more than {EXPORT_LIMIT} cases match; narrow the filters to export them",
                code="export_too_large",
            )
        if cursor is None:
            return rows


def _csv(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    # A byte-order mark so spreadsheet programs read the Chinese text as UTF-8.
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(rows: Iterable[Sequence[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def export_cases(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    filters: CaseFilters,
    fmt: str,
) -> tuple[bytes, str]:
    """The export's bytes and media type; `fmt` is `csv` or `xlsx`."""
    rows = await _rows(session, settings, principal, filters)
    if fmt == "xlsx":
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return _xlsx(rows), media
    return _csv(rows), "text/csv"  # the response adds `; charset=utf-8` to text types
