"""The whole CFPB export through the shipped mapping: every row accounted for, counts per
channel and per year as the file says, and a second import that changes nothing."""

from __future__ import annotations

import collections
import csv

import pytest
from import_support import cfpb_path, count, rows_of, run_import
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.settings import Settings
from support import TenantHandle

# The shipped mapping's channel map, written out again here on purpose.
CHANNELS = {
    "Web": "web",
    "Web Referral": "web",
    "Phone": "phone",
    "Email": "email",
    "Postal mail": "letter",
    "Referral": "referral",
    "Fax": "fax",
}


async def test_the_whole_cfpb_file_imports_and_a_second_run_changes_nothing(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    path = cfpb_path()
    if not path.exists():
        pytest.skip("the shared CFPB file is not here")
    with path.open(encoding="utf-8", newline="") as f:
        file_rows = list(csv.DictReader(f))

    run = await run_import(factory, settings, tenant, path, "cfpb", file_name=path.name)

    assert run.status == "done", run.failure
    assert run.rows == len(file_rows)
    assert run.created + run.errors == len(file_rows)
    assert await count(owner_engine, tenant, "cases") == run.created
    failed = {
        int(r[0])
        for r in await rows_of(owner_engine, tenant, "SELECT DISTINCT row FROM import_row_errors")
    }
    assert len(failed) == run.errors
    # Row numbers as a spreadsheet shows them: the header is row 1.
    kept = [r for n, r in enumerate(file_rows, start=2) if n not in failed]
    by_channel = collections.Counter(CHANNELS[r["Submitted via"]] for r in kept)
    by_year = collections.Counter(r["Date received"][:4] for r in kept)
    stored_channels = dict(
        await rows_of(owner_engine, tenant, "SELECT channel, count(*) FROM cases GROUP BY 1")
    )
    stored_years = dict(
        await rows_of(
            owner_engine,
            tenant,
            "SELECT to_char(received_at AT TIME ZONE 'America/New_York', 'YYYY'), count(*) "
            "FROM cases GROUP BY 1",
        )
    )
    assert stored_channels == dict(by_channel)
    assert stored_years == dict(by_year)
    # Imported history tells nobody: no outbox message, no notification.
    assert await count(owner_engine, tenant, "outbox_messages") == 0
    assert await count(owner_engine, tenant, "notifications") == 0

    again = await run_import(factory, settings, tenant, path, "cfpb", file_name=path.name)

    assert again.status == "done"
    assert (again.created, again.updated) == (0, 0)
    assert again.unchanged == run.created
    assert again.errors == run.errors
    assert await count(owner_engine, tenant, "cases") == run.created
