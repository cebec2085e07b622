"""A summary's figures sent together (closeloop.reports.batch: the aggregate requests of
every metric and both periods merged into a few statements: a FILTER per request,
grouping sets, counts summed over stretches of days, the ungrouped figures of all
dating columns in one statement) equal the same figures asked the plain way, one
metric after the other and one statement per request, on the hand-built month:
trends by day, week and month, every breakdown dimension, filters and a department
scope."""

from __future__ import annotations

from typing import Any

import msgspec
import scenario
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.reports.params import report_query
from closeloop.reports.schemas import DIMENSIONS, Summary
from closeloop.reports.service import ReportService
from closeloop.settings import Settings
from support import TenantHandle


def _plain(summary: Summary) -> dict[str, Any]:
    found: dict[str, Any] = msgspec.to_builtins(summary)
    found.pop("generated_at")
    return found


async def _both(
    app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings, **params: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    query = report_query(**params)
    found = []
    for merged in (True, False):
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            service = ReportService(session, principal=None, settings=settings)
            found.append(_plain(await service.summary(query, merged=merged)))
    return found[0], found[1]


async def test_the_merged_statements_give_the_figures_of_one_statement_per_request(
    app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings, month: scenario.World
) -> None:
    department = str(month.departments[next(iter(month.departments))])
    queries: list[dict[str, str]] = [
        {"period": "2026-11"},
        {"period": "2026-11", "group_by": "week"},
        {"date_from": "2026-10-01", "date_to": "2026-11-30", "group_by": "day"},
        {"date_from": "2026-09-15", "date_to": "2026-11-30", "group_by": "month"},
        *({"period": "2026-11", "group_by": dimension} for dimension in DIMENSIONS),
        {"period": "2026-11", "channel": "phone", "group_by": "week"},
        {"period": "2026-11", "kind": "complaint", "group_by": "category"},
        {"period": "2026-11", "category": "logistics_delay"},
        {"period": "2026-11", "department": department, "group_by": "handler"},
        {"period": "2026-11", "handler": str(month.handlers["h1"])},
        {"date_from": "2026-11-10", "date_to": "2026-11-12", "group_by": "day"},
    ]
    checked = 0
    for params in queries:
        merged, plain = await _both(app_engine, tenant, settings, **params)
        assert merged == plain, f"{params}: the merged statements differ"
        volume = merged["metrics"]["volume"]
        checked += bool(volume["value"] or volume["previous"])
    # The queries counted something (else equal figures prove nothing).
    assert checked >= len(queries) - 2
