"""The practice's record form as an XLSX template: filled in with Chinese rows by a
company, it comes back through the shipped mapping with everything in its place."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.utils.datetime import to_excel

from closeloop.imports import (
    ImportedCase,
    Known,
    Mapper,
    Person,
    RowErrors,
    open_table,
    shipped_mapping,
)
from closeloop.imports.template import TEMPLATE_COLUMNS, practice_form_template

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADERS = [c.zh for c in TEMPLATE_COLUMNS]


def _filled(rows: list[dict[str, Any]]) -> bytes:
    """The template as a company fills it in a spreadsheet program."""
    book = load_workbook(io.BytesIO(practice_form_template()))
    sheet = book.worksheets[0]
    for number, values in enumerate(rows, start=2):
        for position, header in enumerate(HEADERS, start=1):
            if header in values:
                sheet.cell(row=number, column=position, value=values[header])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _mapped(data: bytes) -> list[ImportedCase | RowErrors]:
    return _mapper_and_results(data)[1]


def _mapper_and_results(data: bytes) -> tuple[Mapper, list[ImportedCase | RowErrors]]:
    mapping = shipped_mapping("practice_form")
    with open_table(data, **mapping.read_options()) as table:
        mapper = Mapper(mapping, table.header, known=Known.defaults(), time_zone=SHANGHAI)
        return mapper, list(mapper.map_rows(table.rows()))


def test_the_template_has_the_forms_columns_with_english_notes_and_choices() -> None:
    book = load_workbook(io.BytesIO(practice_form_template()))
    sheet = book.worksheets[0]
    assert book.sheetnames == ["投诉处理与回访记录", "填写说明"]
    header = [cell.value for cell in sheet[1]]
    assert header == HEADERS
    assert header[:6] == ["投诉编号", "投诉日期", "投诉渠道", "客户姓名*", "联系方式*", "投诉类型"]
    notes = {cell.value: cell.comment.text for cell in sheet[1]}
    assert notes["投诉日期"].startswith("Received at")
    assert notes["回访人*"].startswith("Followed up by")
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists["G2"] == '"普通,紧急,特急"'
    assert all(not v.showErrorMessage for v in sheet.data_validations.dataValidation)
    assert sheet.column_dimensions["E"].number_format == "@"  # phone numbers stay text
    assert sheet.max_row == 1  # nothing to fill in yet


def test_the_shipped_mapping_reads_every_column_of_the_template() -> None:
    mapping = shipped_mapping("practice_form")
    read = {column for _, spec in mapping.entries() for column in spec.referenced_columns()}
    assert read == set(HEADERS)


def test_a_filled_in_template_round_trips_with_its_chinese_text() -> None:
    first = {
        "投诉编号": "202611001",
        "投诉日期": dt.datetime(2026, 11, 3, 14, 30),
        "投诉渠道": "电话",
        "客户姓名*": "张三",
        "联系方式*": "13800138000",
        "投诉类型": "产品质量",
        "紧急程度": "紧急",
        "涉及产品/服务": "电水壶 K-200",
        "投诉内容详情": "使用两周后底部漏水,\n要求退货退款。",
        "客户诉求": "退款、道歉",
        "核实情况": "调取订单记录,属实",
        "责任部门": "售后部",
        "处理人*": "wang@acme.example.com",
        "制定方案": "无理由退款",
        "处理时限": "2026/11/4 14:30",
        "处理过程记录": "11/3 联系物流取件",
        "处理结果": "退款已至客户账户",
        "首次客户反馈": "满意",
        "回访情况": "客户确认收到退款",
        "回访日期": to_excel(dt.datetime(2026, 11, 7)),  # a date typed as a plain number
        "回访人*": "李回访",
        "回访结果": "已解决满意",
        "客户补充意见": "希望改进包装",
        "备注": "无",
        "记录人*": "赵登记",
        "审核人*": "钱主管",
        "归档日期": "2026年11月10日",
    }
    second = {
        "投诉日期": "2026/11/5 9:05",
        "投诉渠道": "官网在线投诉",
        "联系方式*": "Li.Si@example.com",
        "投诉类型": "物流延迟",
        "投诉内容详情": "快递一周才到",
        "首次客户反馈": "不满意",
        "意见记录": "处理时效慢",
    }
    third = {
        "投诉日期": "2026/11/6",
        "投诉渠道": "门店",
        "投诉内容详情": "态度差",
        "投诉类型": "服务态度",
    }
    mapper, results = _mapper_and_results(_filled([first, second, third]))
    assert all(isinstance(r, ImportedCase) for r in results), results
    one, two, three = (r for r in results if isinstance(r, ImportedCase))

    assert (one.row, one.number) == (2, "202611001")
    assert one.received_at == dt.datetime(2026, 11, 3, 14, 30, tzinfo=SHANGHAI)
    assert (one.channel, one.category, one.severity) == ("phone", "product_quality", "urgent")
    assert one.customer is not None
    assert (one.customer.name, one.customer.phone) == ("张三", "13800138000")
    assert one.product is not None
    assert one.product.name == "电水壶 K-200"
    assert one.description == "使用两周后底部漏水,\n要求退货退款。"
    assert one.title == "使用两周后底部漏水,"
    assert one.demands == ["refund", "apology"]
    assert one.verification_note == "调取订单记录,属实"
    # A department the tenant lacks is to be created (the mapping says so), named as written.
    [department] = mapper.creations
    assert (department.kind, department.name) == ("department", "售后部")
    assert one.department == department.code
    assert one.handler == Person(email="wang@acme.example.com")
    assert one.solution_type == "无理由退款"
    assert one.deadline == dt.datetime(2026, 11, 4, 14, 30, tzinfo=SHANGHAI)
    assert one.progress_note == "11/3 联系物流取件"
    assert one.resolution_result == "退款已至客户账户"
    assert one.first_satisfaction == "satisfied"
    assert one.followup_note == "客户确认收到退款"
    assert one.followup_at == dt.datetime(2026, 11, 7, tzinfo=SHANGHAI)
    assert one.followup_by == Person(name="李回访")
    assert one.followup_outcome == "resolved_satisfied"
    assert one.registrar == Person(name="赵登记")
    assert one.archived_at == dt.datetime(2026, 11, 10, tzinfo=SHANGHAI)
    assert one.extra == {"customer_comment": "希望改进包装", "remarks": "无", "reviewer": "钱主管"}
    assert one.status == "archived"

    assert two.received_at == dt.datetime(2026, 11, 5, 9, 5, tzinfo=SHANGHAI)
    assert (two.channel, two.category) == ("web", "logistics_delay")
    assert two.customer is not None
    assert (two.customer.email, two.customer.phone) == ("Li.Si@example.com", None)
    assert (two.first_satisfaction, two.satisfaction_reason) == ("unsatisfied", "处理时效慢")
    assert two.status == "feedback_received"
    assert (three.channel, three.category, three.status) == (
        "store",
        "service_attitude",
        "registered",
    )


def test_the_form_saved_as_a_gbk_csv_maps_the_same() -> None:
    # What Excel on a Chinese system writes for "CSV (逗号分隔)": GBK, CRLF.
    rows = [
        {
            "投诉编号": "202611001",
            "投诉日期": "2026/11/3 14:30",
            "投诉渠道": "电话",
            "客户姓名*": "张三",
            "联系方式*": "13800138000",
            "投诉类型": "产品质量",
            "紧急程度": "特急",
            "投诉内容详情": "电水壶漏水，\n要求退货退款。",
            "客户诉求": "退款、道歉",
            "回访结果": "未解决",
        }
    ]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows([[row.get(h, "") for h in HEADERS] for row in rows])
    from_csv = _mapped(out.getvalue().encode("gbk"))
    from_xlsx = _mapped(_filled(rows))
    assert from_csv == from_xlsx
    [case] = from_csv
    assert isinstance(case, ImportedCase)
    assert case.customer is not None
    assert case.customer.name == "张三"
    assert case.description == "电水壶漏水，\n要求退货退款。"
    assert (case.severity, case.followup_outcome, case.status) == (
        "critical",
        "unresolved",
        "reopened",
    )


def test_bad_rows_of_a_filled_template_are_reported_while_the_others_map() -> None:
    good = {"投诉日期": "2026/11/3", "投诉渠道": "电话", "投诉内容详情": "漏水", "投诉类型": "其他"}
    rows = [
        good,
        {**good, "投诉类型": "外星人入侵"},
        {**good, "投诉日期": "上周三下午"},
        good,
    ]
    results = _mapped(_filled(rows))
    assert [type(r).__name__ for r in results] == [
        "ImportedCase",
        "RowErrors",
        "RowErrors",
        "ImportedCase",
    ]
    category, date = (r for r in results if isinstance(r, RowErrors))
    assert [(e.row, e.column, e.value) for e in category.errors] == [(3, "投诉类型", "外星人入侵")]
    assert [(e.row, e.column, e.value) for e in date.errors] == [(4, "投诉日期", "上周三下午")]
