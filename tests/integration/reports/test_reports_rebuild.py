"""`closeloop reports rebuild` gives back the facts and rollup kept live, and
`closeloop report` prints the summary as CSV."""

from __future__ import annotations

import csv
import io

from reports_support import act, department, new_case, resolve, rollup_of, run_refreshes, staff
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.reports.facts import FACT_COLUMNS
from closeloop.reports.models import CaseFacts, ReportDaily
from closeloop.settings import Settings
from support import Client, TenantHandle, run_cli


async def _facts(engine: AsyncEngine, tenant: TenantHandle) -> dict[str, tuple[object, ...]]:
    async with transaction(sessionmaker(engine), tenant.id) as session:
        rows = await session.scalars(select(CaseFacts))
        return {
            str(f.id): tuple(getattr(f, c) for c in FACT_COLUMNS if c != "updated_at") for f in rows
        }


async def test_rebuild_gives_back_the_rollup_kept_live(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    logistics = await department(client, tenant, "logistics")
    handler = await staff(client, tenant, "handler")
    cases = [await new_case(client, tenant, channel=c) for c in ("web", "phone", "email")]
    await resolve(client, tenant, cases[0], handler, logistics)
    await resolve(client, tenant, cases[1], handler, logistics, progress_to_customer=True)
    await act(client, tenant.headers, cases[1], "feedback", {"satisfaction": "satisfied"})
    await act(client, tenant.headers, cases[2], "request_info", {"question": "Which order?"})
    await run_refreshes(app_engine, tenant.id)
    live_rollup = await rollup_of(app_engine, tenant.id)
    live_facts = await _facts(app_engine, tenant)
    assert len(live_facts) == 3
    assert sum(n for key, n in live_rollup.items() if key[1] == "received") == 3

    # Spoil both, then rebuild.
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await session.execute(update(ReportDaily).values(n=99))
        await session.execute(update(CaseFacts).values(resolution_seconds=None, product="spoilt"))
    code, output = await run_cli(settings, "reports", "rebuild", tenant.slug)
    assert code == 0, output
    assert "3 cases (3 changed)" in output
    assert await rollup_of(app_engine, tenant.id) == live_rollup
    assert await _facts(app_engine, tenant) == live_facts

    code, output = await run_cli(
        settings, "report", tenant.slug, "--from", "2026-01-01", "--to", "2026-12-31"
    )
    assert code == 0, output
    rows = list(csv.reader(io.StringIO(output.lstrip("\ufeff"))))
    assert rows[0][0] == "metric"
    volume = next(r for r in rows if r[0] == "volume" and r[2] == "total")
    assert volume[5] == "3"

    code, output = await run_cli(settings, "reports", "rebuild", "no-such-tenant")
    assert code == 2
    assert "no tenant" in output
