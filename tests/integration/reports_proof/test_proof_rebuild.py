"""The rollup after `closeloop reports rebuild` equals the rollup the worker kept live, on
the same cases (the hand-built month): the whole tenant, then a range of days, and a
summary answers the same before and after."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import scenario
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.settings import Settings
from support import Client, TenantHandle, run_cli

ROLLUP = (
    "SELECT day, measure, kind, channel, category, severity, department, n FROM report_daily "
    "ORDER BY 1, 2, 3, 4, 5, 6, 7"
)
FACTS = "SELECT * FROM case_facts ORDER BY id"
NOT_COMPARED = {"tenant_id", "created_at", "updated_at"}


async def _read(engine: AsyncEngine, tenant: TenantHandle, sql: str) -> list[dict[str, Any]]:
    async with transaction(sessionmaker(engine), tenant.id) as session:
        rows = (await session.execute(text(sql))).mappings().all()
    return [{k: v for k, v in r.items() if k not in NOT_COMPARED} for r in rows]


async def _summary(client: Client, tenant: TenantHandle) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/reports/summary",
        headers=tenant.headers,
        params={"from": "2026-10-01", "to": "2026-11-30", "group_by": "week"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    body.pop("generated_at", None)
    return body


async def test_the_rollup_after_a_rebuild_equals_the_rollup_kept_live(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    settings: Settings,
    tmp_path: Path,
    month: scenario.World,
) -> None:
    live_rollup = await _read(app_engine, tenant, ROLLUP)
    live_facts = await _read(app_engine, tenant, FACTS)
    live_summary = await _summary(client, tenant)
    # The month's cases are all there, and each day's received count is the cases'.
    assert len(live_facts) == 10
    received = sum(r["n"] for r in live_rollup if r["measure"] == "received")
    assert received == 9  # ten cases, one merged into another

    settings = dataclasses.replace(settings, data_dir=tmp_path / "data")
    code, output = await run_cli(settings, "reports", "rebuild", tenant.slug)
    assert code == 0, output
    assert await _read(app_engine, tenant, ROLLUP) == live_rollup
    assert await _read(app_engine, tenant, FACTS) == live_facts
    assert await _summary(client, tenant) == live_summary

    # A range: the days outside it are left alone, the days inside come back the same.
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await session.execute(text("DELETE FROM report_daily WHERE day BETWEEN "
                                   "'2026-11-09' AND '2026-11-20'"))  # fmt: skip
    code, output = await run_cli(
        settings, "reports", "rebuild", tenant.slug, "--from", "2026-11-09", "--to", "2026-11-20"
    )
    assert code == 0, output
    assert await _read(app_engine, tenant, ROLLUP) == live_rollup
    assert await _summary(client, tenant) == live_summary
