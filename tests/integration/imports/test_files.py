"""Files of other shapes: a GBK CSV and an XLSX of the practice's form with Chinese text
intact, bad rows reported with row and column while the others go in, undo."""

from __future__ import annotations

import csv
import io

import pytest
from import_support import count, rows_of, run_import
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.db import transaction
from closeloop.errors import Conflict
from closeloop.imports import parse_mapping, writer
from closeloop.imports.service import ImportService
from closeloop.imports.template import TEMPLATE_COLUMNS, practice_form_template
from closeloop.settings import Settings
from support import TenantHandle

FORM_ROWS = [
    {
        "投诉编号": "TS-2024-0001",
        "投诉日期": "2024/3/5 10:20",
        "投诉渠道": "电话投诉",
        "客户姓名*": "张三",
        "联系方式*": "13800138000",
        "投诉类型": "产品质量类",
        "紧急程度": "普通",
        "涉及产品/服务": "电水壶",
        "投诉内容详情": "电水壶使用两周后底部漏水，要求退货。",
        "处理结果": "已为客户办理退货退款",
        "首次客户反馈": "满意",
    },
    {
        "投诉编号": "TS-2024-0002",
        "投诉日期": "2024/3/6 09:00",
        "投诉渠道": "官网在线投诉",
        "客户姓名*": "李四",
        "联系方式*": "lisi@example.com",
        "投诉类型": "物流延迟",
        "涉及产品/服务": "空气炸锅",
        "投诉内容详情": "快递延误一周，包装破损。",
    },
]


def _form_csv(encoding: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.zh for c in TEMPLATE_COLUMNS])
    for row in FORM_ROWS:
        writer.writerow([row.get(c.zh, "") for c in TEMPLATE_COLUMNS])
    return out.getvalue().encode(encoding)


def _form_xlsx() -> bytes:
    book = load_workbook(io.BytesIO(practice_form_template()))
    sheet = book.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    for row in FORM_ROWS:
        sheet.append([row.get(str(name), "") for name in header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _stored(owner_engine: AsyncEngine, tenant: TenantHandle) -> dict[str, tuple[str, ...]]:
    found = await rows_of(
        owner_engine,
        tenant,
        "SELECT number, title, description, channel, category_code, status FROM cases",
    )
    return {r[0]: tuple(r[1:]) for r in found}


async def test_a_gbk_csv_of_the_form_imports_with_its_chinese_text(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    run = await run_import(
        factory, settings, tenant, _form_csv("gbk"), "practice_form", file_name="记录表.csv"
    )

    assert run.status == "done", run.failure
    assert (run.rows, run.created, run.errors) == (2, 2, 0)
    assert run.encoding == "gb18030"
    stored = await _stored(owner_engine, tenant)
    assert stored["TS-2024-0001"][1] == "电水壶使用两周后底部漏水，要求退货。"
    assert stored["TS-2024-0001"][2:] == ("phone", "product_quality", "feedback_received")
    assert stored["TS-2024-0002"][1] == "快递延误一周，包装破损。"
    assert stored["TS-2024-0002"][2:] == ("web", "logistics_delay", "registered")
    # The form has no external id: a second import matches its rows by their numbers.
    again = await run_import(factory, settings, tenant, _form_csv("gbk"), "practice_form")
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 2, 0)
    # The customer is found or made by keyed hash, as intake does: PII only encrypted.
    customers = await rows_of(
        owner_engine, tenant, "SELECT phone_hash IS NOT NULL, name_enc IS NOT NULL FROM customers"
    )
    assert sorted(customers) == [(False, True), (True, True)]


async def test_an_xlsx_of_the_form_imports_with_its_chinese_text(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    run = await run_import(
        factory, settings, tenant, _form_xlsx(), "practice_form", file_name="记录表.xlsx"
    )

    assert run.status == "done", run.failure
    assert (run.created, run.errors) == (2, 0)
    assert run.format == "xlsx"
    stored = await _stored(owner_engine, tenant)
    assert stored["TS-2024-0002"][1] == "快递延误一周，包装破损。"


BAD_MAPPING = """
name = "helpdesk"
[source]
time_zone = "Asia/Shanghai"
[fields]
external_id = "Id"
description = "Text"
received_at = { column = "Opened", formats = ["%d.%m.%Y"] }
channel = { value = "phone" }
[fields.category]
column = "Topic"
on_unknown = "report"
"""

BAD_FILE = (
    "Id,Opened,Topic,Text\n"
    "h-1,03.11.2024,logistics_delay,快递延误\n"
    "h-2,04.11.2024,no-such-topic,未知类别\n"
    "h-3,31.02.2024,product_quality,日期不对\n"
    "h-4,05.11.2024,product_quality,质量问题\n"
).encode()


async def test_bad_rows_are_reported_with_row_and_column_and_the_others_go_in(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    mapping = parse_mapping(BAD_MAPPING)
    run = await run_import(factory, settings, tenant, BAD_FILE, mapping)

    assert run.status == "done", run.failure
    assert (run.rows, run.created, run.errors) == (4, 2, 2)
    async with transaction(factory, tenant.id) as session:
        service = ImportService(session, actor="test", settings=settings)
        errors = await service.errors(run.id)
        report = await service.errors_csv(run.id)
    assert [(e.row, e.column, e.value) for e in errors] == [
        (3, "Topic", "no-such-topic"),
        (4, "Opened", "31.02.2024"),
    ]
    assert report.splitlines()[0] == "row,column,field,value,reason"
    numbered = await rows_of(
        owner_engine, tenant, "SELECT external_id, number FROM cases ORDER BY external_id"
    )
    # No number column: the tenant's pattern for complaints, by the received date.
    assert numbered == [("h-1", "CT-2024-00001"), ("h-4", "CT-2024-00002")]


async def test_undo_removes_exactly_the_runs_cases_and_is_refused_after_a_change(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    mapping = parse_mapping(BAD_MAPPING)
    first = await run_import(factory, settings, tenant, BAD_FILE, mapping)
    other = (
        "Id,Opened,Topic,Text\n"
        "k-1,06.11.2024,logistics_delay,另一个文件\n"
        "k-2,07.11.2024,logistics_delay,另一个文件\n"
    ).encode()
    second = await run_import(factory, settings, tenant, other, mapping)
    assert await count(owner_engine, tenant, "cases") == 4

    async with transaction(factory, tenant.id) as session:
        undone = await ImportService(session, actor="test", settings=settings).undo(second.id)
    assert undone.status == "undone"
    left = await rows_of(owner_engine, tenant, "SELECT external_id FROM cases ORDER BY 1")
    assert [r[0] for r in left] == ["h-1", "h-4"]
    assert await count(owner_engine, tenant, "case_events") == 2

    # A case of the first run changes afterwards: that run can no longer be undone.
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(text("UPDATE cases SET version = version + 1 WHERE external_id = 'h-1'"))
    async with transaction(factory, tenant.id) as session:
        service = ImportService(session, actor="test", settings=settings)
        try:
            await service.undo(first.id)
        except Conflict:
            pass
        else:
            raise AssertionError("undo of a run whose case changed was not refused")
    assert await count(owner_engine, tenant, "cases") == 2


async def test_a_changed_row_updates_its_case_and_is_audited(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    mapping = parse_mapping(BAD_MAPPING)
    await run_import(factory, settings, tenant, BAD_FILE, mapping)
    changed = BAD_FILE.replace("质量问题".encode(), "质量问题，已换货".encode())

    again = await run_import(factory, settings, tenant, changed, mapping)

    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 1, 1, 2)
    found = await rows_of(
        owner_engine, tenant, "SELECT description, version FROM cases WHERE external_id = 'h-4'"
    )
    assert found == [("质量问题，已换货", 2)]
    audited = await rows_of(
        owner_engine, tenant, "SELECT action FROM audit_entries WHERE action LIKE '%import%'"
    )
    assert sorted(a[0] for a in audited) == ["case.import_update", "import.run", "import.run"]


SLA_MAPPING = """
name = "history"
[source]
time_zone = "Asia/Shanghai"
[fields]
external_id = "Id"
description = "Text"
received_at = "Opened"
resolved_at = "Resolved"
channel = { value = "phone" }
"""

SLA_FILE = (
    "Id,Opened,Resolved,Text\n"
    "s-1,2024-03-04 10:00,2024-03-04 11:00,当天解决\n"
    "s-2,2024-03-04 10:00,2024-04-30 10:00,拖了两个月\n"
    "s-3,2024-03-04 10:00,,还没处理\n"
).encode()


async def test_sla_clocks_are_history_met_or_breached_by_their_times(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    run = await run_import(factory, settings, tenant, SLA_FILE, parse_mapping(SLA_MAPPING))

    assert (run.created, run.errors) == (3, 0)
    clocks = await rows_of(
        owner_engine,
        tenant,
        "SELECT c.external_id, k.target, k.state, k.breached_at IS NOT NULL, k.next_check_at "
        "FROM sla_clocks k JOIN cases c ON c.id = k.case_id ORDER BY 1, 2",
    )
    assert {(c[0], c[1]): (c[2], c[3]) for c in clocks} == {
        ("s-1", "first_response"): ("stopped", False),
        ("s-1", "resolution"): ("stopped", False),
        ("s-2", "first_response"): ("stopped", True),
        ("s-2", "resolution"): ("stopped", True),
        # Still open in the file: stopped at the import, long past its due time.
        ("s-3", "first_response"): ("stopped", True),
        ("s-3", "resolution"): ("stopped", True),
    }
    assert all(c[4] is None for c in clocks)  # nothing for the sweep to escalate
    cases = await rows_of(owner_engine, tenant, "SELECT status, due_at FROM cases ORDER BY 1")
    assert cases == [("registered", None), ("resolved", None), ("resolved", None)]
    assert await count(owner_engine, tenant, "outbox_messages") == 0
    assert await count(owner_engine, tenant, "notifications") == 0


async def test_a_repeated_external_id_is_a_row_error_within_and_across_batches(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer, "BATCH", 2)
    data = (
        "Id,Opened,Topic,Text\n"
        "h-1,03.11.2024,logistics_delay,第一\n"
        "h-1,03.11.2024,logistics_delay,同一批里重复\n"
        "h-2,04.11.2024,logistics_delay,第二\n"
        "h-1,05.11.2024,logistics_delay,下一批里重复\n"
    ).encode()

    run = await run_import(factory, settings, tenant, data, parse_mapping(BAD_MAPPING))

    assert (run.rows, run.created, run.errors) == (4, 2, 2)
    async with transaction(factory, tenant.id) as session:
        errors = await ImportService(session, actor="test", settings=settings).errors(run.id)
    assert [(e.row, e.field, e.reason) for e in errors] == [
        (3, "external_id", "the same id as row 2"),
        (5, "external_id", "an earlier row of this file has the same id"),
    ]
