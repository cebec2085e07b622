"""The mapping: its file checked with line-and-field messages, and its effect on rows:
value maps, unknown values reported / defaulted / created, parsed types, errors per cell
while the other rows map, and nothing dropped; SLA outcomes a file states (`[sla]`)."""

from __future__ import annotations

import datetime as dt
import textwrap
from zoneinfo import ZoneInfo

import pytest

from closeloop.imports import (
    SHIPPED,
    CellError,
    ImportedCase,
    Known,
    Mapper,
    MappingError,
    Person,
    RowErrors,
    error_report_csv,
    open_table,
    parse_mapping,
    shipped_mapping,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

MAPPING = textwrap.dedent(
    """\
    name = "test"

    [source]
    date_formats = ["%Y/%m/%d %H:%M", "%Y/%m/%d"]

    [fields]
    number = "编号"
    received_at = "日期"
    description = { columns = ["问题", "详情"], join = "\\n" }
    customer_contact = "联系方式"
    handler = "处理人"

    [fields.channel]
    column = "渠道"
    [fields.channel.map]
    "电话投诉" = "phone"

    [fields.category]
    column = "类型"
    on_unknown = "report"

    [fields.severity]
    column = "紧急程度"
    on_unknown = "default"
    default = "normal"

    [fields.demands]
    column = "诉求"
    split = "、,"
    on_unknown = "default"
    default = "other"

    [extra]
    amount = { column = "金额", type = "number" }
    """
)
HEADER = "编号,日期,渠道,类型,紧急程度,问题,详情,联系方式,处理人,诉求,金额\n"


def _map(csv_text: str, mapping: str = MAPPING) -> tuple[list[ImportedCase | RowErrors], Mapper]:
    loaded = parse_mapping(mapping)
    with open_table(csv_text.encode("utf-8")) as table:
        mapper = Mapper(loaded, table.header, known=Known.defaults(), time_zone=SHANGHAI)
        return list(mapper.map_rows(table.rows())), mapper


def test_rows_become_typed_cases() -> None:
    results, mapper = _map(
        HEADER
        + "202611001,2026/11/3 14:30,电话投诉,产品质量,特急,漏水,底部漏水,13800138000,"
        + "王工,退款、道歉,12.5\n"
        + "202611002,2026/11/4,在线客服,物流延误,,慢,一周才到,li@example.com,"
        + "ops@example.com,,\n"
    )
    first, second = results
    assert isinstance(first, ImportedCase)
    assert isinstance(second, ImportedCase)
    assert first.row == 2
    assert first.number == "202611001"
    assert first.received_at == dt.datetime(2026, 11, 3, 14, 30, tzinfo=SHANGHAI)
    assert (first.channel, first.category, first.severity) == (
        "phone",
        "product_quality",
        "critical",
    )
    assert first.description == "漏水\n底部漏水"
    assert first.title == "漏水"  # no title column: the description's first line
    assert first.customer is not None
    assert (first.customer.phone, first.customer.email) == ("13800138000", None)
    assert first.handler == Person(name="王工")
    assert first.demands == ["refund", "apology"]
    assert first.extra == {"amount": 12.5}
    assert (first.kind, first.status) == ("complaint", "assigned")
    # names of the tenant's items resolve too (在线客服 → chat, 物流延误 → logistics_delay)
    assert (second.channel, second.category, second.severity) == (
        "chat",
        "logistics_delay",
        "normal",
    )
    assert second.customer is not None
    assert second.customer.email == "li@example.com"
    assert second.handler == Person(email="ops@example.com")
    assert second.received_at == dt.datetime(2026, 11, 4, tzinfo=SHANGHAI)
    assert mapper.tally.cases == 2


def test_bad_rows_are_reported_with_row_and_column_while_the_others_map() -> None:
    results, mapper = _map(
        HEADER
        + "1,2026/11/3,电话,产品质量,,a,b,,,,\n"
        + "2,2026/11/3,电话,外星人入侵,,a,b,,,,\n"  # unknown category, on_unknown = report
        + "3,2026/13/45,电话,产品质量,,a,b,,,,\n"  # no such date
        + "4,下周二,传真,产品质量,,,,,,,十二\n"  # four problems in one row
        + "5,2026/11/5,电话,其他,,a,b,,,,\n"
    )
    assert [type(r).__name__ for r in results] == [
        "ImportedCase",
        "RowErrors",
        "RowErrors",
        "RowErrors",
        "ImportedCase",
    ]
    assert (mapper.tally.rows, mapper.tally.cases, mapper.tally.failed) == (5, 2, 3)
    unknown_category = results[1]
    assert isinstance(unknown_category, RowErrors)
    [error] = unknown_category.errors
    assert (error.row, error.column, error.field, error.value) == (
        3,
        "类型",
        "category",
        "外星人入侵",
    )
    assert "unknown category '外星人入侵'" in error.reason
    bad_date = results[2]
    assert isinstance(bad_date, RowErrors)
    assert [(e.row, e.column, e.value) for e in bad_date.errors] == [(4, "日期", "2026/13/45")]
    assert "not a date/time" in bad_date.errors[0].reason
    several = results[3]
    assert isinstance(several, RowErrors)
    assert [(e.column, e.field) for e in several.errors] == [  # in the mapping's order
        ("日期", "received_at"),
        ("问题, 详情", "description"),
        ("渠道", "channel"),
        ("金额", "extra.amount"),
    ]
    report = error_report_csv(e for r in results if isinstance(r, RowErrors) for e in r.errors)
    assert report.splitlines()[0] == "row,column,field,value,reason"
    assert report.splitlines()[1].startswith("3,类型,category,外星人入侵,")
    assert len(report.splitlines()) == 1 + 1 + 1 + 4


def test_on_unknown_create_says_what_to_create_and_only_for_rows_that_map() -> None:
    mapping = MAPPING.replace(
        '[fields.category]\ncolumn = "类型"\non_unknown = "report"',
        '[fields.category]\ncolumns = ["类型", "子类型"]\non_unknown = "create"',
    )
    header = HEADER.replace("类型,", "类型,子类型,", 1)
    results, mapper = _map(
        header
        + "1,2026/11/3,电话,Mortgage,FHA mortgage,,a,b,,,,\n"
        + "2,2026/11/3,电话,Mortgage,,,a,b,,,,\n"
        + "3,bad date,电话,Credit card,,,a,b,,,,\n"  # fails: its category is not created
        + "4,2026/11/3,电话,产品质量,电热水壶,,a,b,,,,\n"
        + "5,2026/11/3,电话,Mortgage,FHA mortgage,,a,b,,,,\n",
        mapping,
    )
    categories = [r.category if isinstance(r, ImportedCase) else None for r in results]
    assert categories == [
        "mortgage.fha-mortgage",
        "mortgage",
        None,
        categories[3],
        "mortgage.fha-mortgage",
    ]
    assert categories[3] is not None
    assert categories[3].startswith("product_quality.x-")  # Chinese text: a hashed code
    assert [(c.kind, c.code, c.name, c.parent) for c in mapper.creations] == [
        ("category", "mortgage", "Mortgage", None),
        ("category", "mortgage.fha-mortgage", "FHA mortgage", "mortgage"),
        ("category", categories[3], "电热水壶", "product_quality"),
    ]


def test_a_mapped_code_the_tenant_lacks_is_reported_unless_created() -> None:
    mapping = MAPPING.replace('"电话投诉" = "phone"', '"传真" = "fax"')
    results, _ = _map(HEADER + "1,2026/11/3,传真,其他,,a,b,,,,\n", mapping)
    [failed] = results
    assert isinstance(failed, RowErrors)
    assert "'传真' maps to 'fax', which is not a channel of the tenant" in failed.errors[0].reason
    created = mapping.replace("[fields.channel]\n", '[fields.channel]\non_unknown = "create"\n')
    results, mapper = _map(HEADER + "1,2026/11/3,传真,其他,,a,b,,,,\n", created)
    [case] = results
    assert isinstance(case, ImportedCase)
    assert case.channel == "fax"
    assert [(c.kind, c.code, c.name) for c in mapper.creations] == [("channel", "fax", "传真")]


def test_form_checkboxes_and_full_width_text_resolve() -> None:
    results, _ = _map(HEADER + "1,２０２６/11/3,☑电话□邮件,□产品质量☑服务态度,,a,b,,,,\n")
    [case] = results
    assert isinstance(case, ImportedCase)
    assert (case.channel, case.category) == ("phone", "service_attitude")
    assert case.received_at == dt.datetime(2026, 11, 3, tzinfo=SHANGHAI)


def test_undecodable_bytes_are_reported_against_their_cell() -> None:
    # A UTF-8 file with one row pasted from a GBK one, read as the UTF-8 it claims to be.
    data = (HEADER + "1,2026/11/3,电话,其他,,漏水,底部漏水,,,,\n").encode(
        "utf-8"
    ) + "2,2026/11/3,电话,其他,,漏水,底部漏水,,,,\n".encode("gbk")
    with open_table(data, encoding="utf-8") as table:
        mapper = Mapper(parse_mapping(MAPPING), table.header, known=Known.defaults())
        good, bad = mapper.map_rows(table.rows())
    assert isinstance(good, ImportedCase)
    assert good.description == "漏水\n底部漏水"
    assert isinstance(bad, RowErrors)
    assert [(e.row, e.column, e.field) for e in bad.errors] == [  # every Chinese cell
        (3, "问题, 详情", "description"),
        (3, "渠道", "channel"),
        (3, "类型", "category"),
    ]
    assert bad.errors[0].reason.startswith("bytes ")
    assert "are not valid in the file's encoding" in bad.errors[0].reason


def _problems(text: str, header: list[str] | None = None) -> list[tuple[int | None, str, str]]:
    with pytest.raises(MappingError) as caught:
        loaded = parse_mapping(text, source="m.toml")
        if header is not None:
            Mapper(loaded, header, known=Known.defaults())
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_a_mapping_with_mistakes_names_each_line_and_field() -> None:
    text = textwrap.dedent(
        """\
        [fields]
        channel = "渠道"
        description = "详情"
        recieved_at = "日期"

        [fields.severity]
        column = "紧急程度"
        on_unknown = "create"

        [fields.status]
        column = "状态"
        [fields.status.map]
        "已关闭" = "done"

        [fields.title]
        column = "标题"
        value = "x"
        """
    )
    problems = _problems(text)
    assert [(line, field) for line, field, _ in problems] == [
        (4, "fields.recieved_at"),
        (8, "fields.severity.on_unknown"),
        (13, "fields.status.map.已关闭"),
        (15, "fields.title"),
    ]
    assert "did you mean 'received_at'?" in problems[0][2]
    assert "one of registered, verified" in problems[2][2]


def test_a_mapping_is_checked_against_the_file_header() -> None:
    text = 'description = "x"\n[fields]\nchannel = "渠道"\ndescription = "详情 "\n'
    text = text.replace('description = "x"\n', "")
    problems = _problems(text, ["渠 道", "标题"])
    assert problems == [
        (3, "fields.description.column", problems[0][2]),
    ]
    assert "the file has no column '详情 '; its columns are: 渠 道, 标题" in problems[0][2]


def test_shape_and_syntax_errors_name_their_line() -> None:
    assert _problems('[fields]\nchannel = "a"\ndescription = { column = 3 }\n')[0][:2] == (
        3,
        "fields.description.column",
    )
    line, field, message = _problems('[fields]\nchannel = "a"\ndescription = \n')[0]
    assert (line, field) == (3, "-")
    assert "TOML syntax error" in message
    assert _problems('[source]\ntime_zone = "Mars/Olympus"\n[fields]\nchannel = "a"\n')[:2] == [
        (2, "source.time_zone", "unknown time zone 'Mars/Olympus'"),
        (3, "fields", "description must be mapped (a column, a template or a value)"),
    ]


def test_a_constant_or_default_that_does_not_resolve_is_a_mapping_error() -> None:
    text = '[fields]\ndescription = "详情"\nchannel = { value = "carrier-pigeon" }\n'
    [(line, field, message)] = _problems(text, ["详情"])
    assert (line, field) == (3, "fields.channel.value")
    assert "unknown channel 'carrier-pigeon'" in message
    text = (
        '[fields]\ndescription = "详情"\nchannel = "渠道"\n'
        '[fields.category]\ncolumn = "类型"\non_unknown = "default"\ndefault = "misc"\n'
    )
    [(line, field, message)] = _problems(text, ["详情", "渠道", "类型"])
    assert (line, field) == (7, "fields.category.default")
    assert "unknown category 'misc'" in message


def test_without_the_tenants_lists_codes_are_taken_as_written() -> None:
    loaded = parse_mapping(
        '[fields]\ndescription = "详情"\nchannel = { value = "web" }\ncategory = "类型"\n'
    )
    with open_table("详情,类型\n漏水,product_quality\n漏水,产品质量\n".encode()) as table:
        good, bad = Mapper(loaded, table.header).map_rows(table.rows())
    assert isinstance(good, ImportedCase)
    assert (good.channel, good.category) == ("web", "product_quality")
    assert isinstance(bad, RowErrors)  # a name is not a code, and there are no names to match
    assert bad.errors[0].field == "category"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_mapping_loads(name: str) -> None:
    mapping = shipped_mapping(name)
    assert mapping.name == name
    assert "channel" in mapping.fields


def test_cell_errors_say_what_the_user_needs() -> None:
    error = CellError(7, "日期", "received_at", "下周二", "not a date/time")
    assert error_report_csv([error]) == (
        "row,column,field,value,reason\r\n7,日期,received_at,下周二,not a date/time\r\n"
    )


# `[sla.<target>]`: an outcome the file states (met or not, no time of the answer),
# through the value map, else yes/no or the words met and breached.
SLA_BASE = textwrap.dedent(
    """\
    [source]
    time_zone = "America/New_York"
    date_formats = ["%m/%d/%Y"]

    [fields]
    channel = { value = "web" }
    description = "Text"
    received_at = "Received"
    """
)
SLA_OUTCOME = textwrap.dedent(
    """\
    [sla.first_response]
    column = "Timely?"
    start = "Sent"
    due = { unit = "calendar", hours = 360 }
    [sla.first_response.map]
    Yes = "met"
    No = "breached"
    Unknown = ""
    """
)
NEW_YORK = ZoneInfo("America/New_York")


def _map_sla(csv_text: str, mapping: str) -> list[ImportedCase | RowErrors]:
    with open_table(csv_text.encode("utf-8")) as table:
        return list(Mapper(parse_mapping(mapping), table.header).map_rows(table.rows()))


def test_a_stated_outcome_becomes_part_of_the_record() -> None:
    results = _map_sla(
        "Text,Received,Sent,Timely?\n"
        "a,05/03/2019,05/06/2019,Yes\n"
        "b,05/03/2019,,no\n"  # a map key matches ignoring case; no start: the received time
        "c,05/03/2019,05/06/2019,Unknown\n"  # mapped to "": no clock
        "d,05/03/2019,05/06/2019,\n"  # empty, no default: no clock
        "e,05/03/2019,05/06/2019,Maybe\n"
        "f,05/03/2019,someday,Yes\n",
        SLA_BASE + SLA_OUTCOME,
    )
    cases = [r for r in results if isinstance(r, ImportedCase)]
    failed = [r for r in results if isinstance(r, RowErrors)]
    assert [r.row for r in cases] == [2, 3, 4, 5]
    a, b, c, d = cases
    e, f = failed
    assert a.sla["first_response"].met is True
    assert a.sla["first_response"].started_at == dt.datetime(2019, 5, 6, tzinfo=NEW_YORK)
    assert a.sla["first_response"].due == {"unit": "calendar", "hours": 360}
    assert b.sla["first_response"].met is False
    assert b.sla["first_response"].started_at is None
    assert c.sla == d.sla == {}
    [error] = e.errors
    assert (error.row, error.column, error.field, error.value) == (
        6,
        "Timely?",
        "sla.first_response",
        "Maybe",
    )
    assert "not in the value map" in error.reason
    [error] = f.errors
    assert (error.row, error.column, error.field, error.value) == (
        7,
        "Sent",
        "sla.first_response",
        "someday",
    )


def test_without_a_map_yes_no_and_the_words_met_and_breached_are_read() -> None:
    mapping = (
        SLA_BASE + '[sla.resolution]\ncolumn = "Kept"\ndue = { unit = "business", hours = 8 }\n'
    )
    results = _map_sla(
        "Text,Received,Kept\na,05/03/2019,是\nb,05/03/2019,breached\nc,05/03/2019,N/A\n", mapping
    )
    assert [r.sla["resolution"].met if isinstance(r, ImportedCase) and r.sla else None
            for r in results] == [True, False, None]  # fmt: skip
    defaulted = mapping + 'on_unknown = "default"\ndefault = "breached"\n'
    [result] = _map_sla("Text,Received,Kept\na,05/03/2019,maybe\n", defaulted)
    assert isinstance(result, ImportedCase)
    assert result.sla["resolution"].met is False


def test_mistakes_of_an_sla_entry_name_their_line_and_field() -> None:
    text = SLA_BASE + textwrap.dedent(
        """\
        [sla.first_answer]
        column = "Timely?"
        due = { unit = "calendar", hours = 24 }

        [sla.resolution]
        column = "Kept"
        due = { unit = "calendar", days = 15 }
        [sla.resolution.map]
        Yes = "kept"

        [sla.followup]
        due = { unit = "working_days", days = 2 }
        """
    )
    problems = _problems(text)
    assert [(line, field) for line, field, _ in problems] == [
        (19, "sla.followup.column"),
        (9, "sla.first_answer"),
        (15, "sla.resolution.due"),
        (17, "sla.resolution.map.Yes"),
    ]
    assert "unknown SLA target 'first_answer'" in problems[1][2]
    assert "counts hours" in problems[2][2]
    assert "expected met, breached" in problems[3][2]


def test_the_columns_of_an_sla_entry_are_checked_against_the_header() -> None:
    problems = _problems(SLA_BASE + SLA_OUTCOME, ["Text", "Received", "Timely?"])
    assert [(line, field) for line, field, _ in problems] == [(11, "sla.first_response.start")]
    assert "the file has no column 'Sent'" in problems[0][2]
