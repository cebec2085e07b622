"""A mapping's `[sla.<target>]`: the outcome a file states (met or not, no time of the
answer) becomes that target's clock as history, in place of the one the case's times
would give; a finished case with no times gets that clock alone; a re-import that
changes the outcome records it again."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from import_support import rows_of, run_import
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.imports import parse_mapping
from closeloop.settings import Settings
from support import TenantHandle

EASTERN = ZoneInfo("America/New_York")
MAPPING = parse_mapping("""
name = "stated"
[source]
time_zone = "America/New_York"
date_formats = ["%m/%d/%Y"]
[fields]
external_id = "Id"
description = "Text"
received_at = "Received"
resolved_at = "Resolved"
status = "Status"
channel = { value = "web" }

[sla.first_response]
column = "Timely?"
start = "Sent"
due = { unit = "calendar", hours = 360 }
map = { Yes = "met", No = "breached" }
""")
HEADER = "Id,Received,Sent,Resolved,Status,Timely?,Text\n"
ROWS = [
    "t-1,05/03/2019,05/06/2019,05/04/2019,resolved,Yes,答复及时",
    "t-2,05/03/2019,,,in_progress,No,逾期未答复",
    "t-3,05/03/2019,05/03/2019,,resolved,Yes,只有结论",
    "t-4,05/03/2019,05/03/2019,,resolved,,什么也没说",
]
SPAN = dt.timedelta(hours=360)


def _file(rows: list[str]) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


def _midnight(day: int) -> dt.datetime:
    return dt.datetime(2019, 5, day, tzinfo=EASTERN)


async def _clocks(owner_engine: AsyncEngine, tenant: TenantHandle) -> dict[tuple[str, str], tuple]:
    found = await rows_of(
        owner_engine,
        tenant,
        "SELECT c.external_id, k.target, k.policy_id IS NULL, k.state, k.started_at, k.due_at,"
        " k.stopped_at, k.breached_at, k.next_check_at FROM sla_clocks k"
        " JOIN cases c ON c.id = k.case_id",
    )
    return {(r[0], r[1]): tuple(r[2:]) for r in found}


async def test_a_stated_outcome_is_the_targets_clock_met_or_breached_as_the_file_says(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    run = await run_import(factory, settings, tenant, _file(ROWS), MAPPING)
    assert (run.created, run.errors) == (4, 0)

    clocks = await _clocks(owner_engine, tenant)
    sent = _midnight(6)
    received = _midnight(3)
    # Stated: the file's promise (no policy), stopped at its due time; breached there.
    assert clocks[("t-1", "first_response")] == (
        True, "stopped", sent, sent + SPAN, sent + SPAN, None, None,
    )  # fmt: skip
    assert clocks[("t-2", "first_response")] == (
        True, "stopped", received, received + SPAN, received + SPAN, received + SPAN, None,
    )  # fmt: skip
    assert clocks[("t-3", "first_response")][:6] == (
        True, "stopped", received, received + SPAN, received + SPAN, None,
    )  # fmt: skip
    # The resolution clock still comes from the tenant's policy and the case's times:
    # resolved the next day (t-1), still open and stopped at the import (t-2).
    assert clocks[("t-1", "resolution")][:2] == (False, "stopped")
    assert clocks[("t-1", "resolution")][4] == _midnight(4)
    assert clocks[("t-2", "resolution")][:2] == (False, "stopped")
    # Finished without times: only what the file states; stating nothing: no clock.
    assert sorted(key for key in clocks if key[0] in ("t-3", "t-4")) == [("t-3", "first_response")]
    assert len(clocks) == 5
    events = await rows_of(
        owner_engine,
        tenant,
        "SELECT c.external_id, e.type, e.data->>'met' FROM sla_clock_events e"
        " JOIN cases c ON c.id = e.case_id WHERE e.target = 'first_response' ORDER BY 1, e.at",
    )
    assert [tuple(e) for e in events] == [
        ("t-1", "start", None), ("t-1", "stop", "true"),
        ("t-2", "start", None), ("t-2", "stop", "false"),
        ("t-3", "start", None), ("t-3", "stop", "true"),
    ]  # fmt: skip

    # The same file again changes nothing; a changed outcome is recorded again.
    again = await run_import(factory, settings, tenant, _file(ROWS), MAPPING)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    changed = [ROWS[0].replace(",Yes,", ",No,"), *ROWS[1:]]
    third = await run_import(factory, settings, tenant, _file(changed), MAPPING)
    assert (third.updated, third.unchanged) == (1, 3)
    clocks = await _clocks(owner_engine, tenant)
    assert clocks[("t-1", "first_response")][1:] == (
        "stopped", sent, sent + SPAN, sent + SPAN, sent + SPAN, None,
    )  # fmt: skip
    assert len(clocks) == 5
