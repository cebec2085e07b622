"""What an import writes on behalf of its admin: the customers it creates are audited as
that admin; a re-import that changes a case records its SLA history again, unless the
case has been handled in Closeloop since."""

from __future__ import annotations

from import_support import rows_of, run_import
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.imports import parse_mapping
from closeloop.settings import Settings
from support import Client, TenantHandle

MAPPING = parse_mapping("""
name = "history"
[source]
time_zone = "Asia/Shanghai"
[fields]
external_id = "Id"
description = "Text"
received_at = "Opened"
resolved_at = "Resolved"
customer_phone = "Phone"
channel = { value = "phone" }
""")
HEADER = "Id,Opened,Resolved,Phone,Text\n"
SAME_DAY = "2024-03-04 10:00,2024-03-04 11:00"
TWO_MONTHS = "2024-03-04 10:00,2024-04-30 10:00"


def _file(*rows: tuple[str, str, str]) -> bytes:
    lines = [
        f"{case_id},{times},1380000{n:04d},{text}" for n, (case_id, times, text) in enumerate(rows)
    ]
    return (HEADER + "\n".join(lines) + "\n").encode()


async def _breached(owner_engine: AsyncEngine, tenant: TenantHandle) -> dict[str, list[bool]]:
    found = await rows_of(
        owner_engine,
        tenant,
        "SELECT c.external_id, k.breached_at IS NOT NULL FROM sla_clocks k "
        "JOIN cases c ON c.id = k.case_id ORDER BY 1, k.target",
    )
    clocks: dict[str, list[bool]] = {}
    for external_id, breached in found:
        clocks.setdefault(external_id, []).append(breached)
    return clocks


async def test_customers_an_import_creates_are_audited_as_its_admin(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    data = _file(("c-1", SAME_DAY, "第一位"), ("c-2", SAME_DAY, "第二位"))
    run = await run_import(factory, settings, tenant, data, MAPPING)
    assert (run.created, run.errors) == (2, 0)
    actors = await rows_of(
        owner_engine, tenant, "SELECT actor FROM audit_entries WHERE action = 'customer.create'"
    )
    assert [a[0] for a in actors] == [f"user:{tenant.admin_id}"] * 2


async def test_a_changed_row_records_its_sla_history_again_unless_handled_since(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    client: Client,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    first = _file(
        ("s-1", SAME_DAY, "当天解决"),
        ("s-2", TWO_MONTHS, "拖了两个月"),
        ("s-3", SAME_DAY, "当天解决"),
    )
    await run_import(factory, settings, tenant, first, MAPPING)
    assert await _breached(owner_engine, tenant) == {
        "s-1": [False, False],
        "s-2": [True, True],
        "s-3": [False, False],
    }
    # s-3 is handled in Closeloop after the import: its clocks are now its own history.
    found = await rows_of(owner_engine, tenant, "SELECT id FROM cases WHERE external_id = 's-3'")
    note = await client.post(
        f"/api/v1/cases/{found[0][0]}/actions/annotate",
        headers=tenant.headers,
        json={"note": "客户来电确认"},
    )
    assert note.status_code == 200, note.text

    # The source system corrected its times: s-1 took two months, s-2 a day, s-3 too.
    second = _file(
        ("s-1", TWO_MONTHS, "当天解决"),
        ("s-2", SAME_DAY, "拖了两个月"),
        ("s-3", TWO_MONTHS, "当天解决"),
    )
    again = await run_import(factory, settings, tenant, second, MAPPING)

    assert (again.updated, again.errors) == (3, 0)
    assert await _breached(owner_engine, tenant) == {
        "s-1": [True, True],  # recorded again: breached by the new times
        "s-2": [False, False],  # recorded again: met
        "s-3": [False, False],  # handled since: kept as it was
    }
    stops = await rows_of(
        owner_engine,
        tenant,
        "SELECT count(*) FROM sla_clock_events e JOIN cases c ON c.id = e.case_id "
        "WHERE c.external_id = 's-1' AND e.type = 'stop'",
    )
    assert stops == [(2,)]  # the old history is replaced, not added to
