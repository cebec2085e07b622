"""Cell parsers: dates as spreadsheets give them (serials, text in many forms), yes/no,
numbers from cells, codes made from names."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from closeloop.config.schemas import CODE_PATTERN
from closeloop.imports.values import (
    DEFAULT_DATE_FORMATS,
    cell_text,
    checked_option,
    make_code,
    match_key,
    parse_bool,
    parse_datetime,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026/11/3", dt.datetime(2026, 11, 3)),
        ("2026/11/3 9:05", dt.datetime(2026, 11, 3, 9, 5)),
        ("2026-11-03 14:30", dt.datetime(2026, 11, 3, 14, 30)),
        ("2026-11-3", dt.datetime(2026, 11, 3)),
        ("2026年11月3日", dt.datetime(2026, 11, 3)),
        ("2026年11月3日 14:30", dt.datetime(2026, 11, 3, 14, 30)),
        ("2026.11.03", dt.datetime(2026, 11, 3)),
        (46329, dt.datetime(2026, 11, 3)),  # Excel serial from a number cell
        (46329.6041666667, dt.datetime(2026, 11, 3, 14, 30)),
        ("46329", dt.datetime(2026, 11, 3)),  # ... or saved as text in a CSV
        (dt.date(2026, 11, 3), dt.datetime(2026, 11, 3)),
        (dt.datetime(2026, 11, 3, 14, 30), dt.datetime(2026, 11, 3, 14, 30)),
    ],
)
def test_dates_as_spreadsheets_give_them(value: object, expected: dt.datetime) -> None:
    parsed = parse_datetime(value, DEFAULT_DATE_FORMATS, SHANGHAI)  # type: ignore[arg-type]
    assert parsed == expected.replace(tzinfo=SHANGHAI)


def test_excel_serials_around_its_leap_day_that_never_was() -> None:
    # Excel counts 1900-02-29 (serial 60): serial 59 is 1900-02-28 and 61 is 1900-03-01.
    assert parse_datetime(59, (), dt.UTC).date() == dt.date(1900, 2, 28)
    assert parse_datetime(61, (), dt.UTC).date() == dt.date(1900, 3, 1)
    assert parse_datetime(1, (), dt.UTC).date() == dt.date(1900, 1, 1)


def test_a_time_with_an_offset_keeps_it_and_day_first_needs_a_format() -> None:
    moment = parse_datetime("2026-11-03T14:30:00-05:00", DEFAULT_DATE_FORMATS, SHANGHAI)
    assert moment.utcoffset() == dt.timedelta(hours=-5)
    with pytest.raises(ValueError, match="not a date/time"):
        parse_datetime("03/11/2026", DEFAULT_DATE_FORMATS, SHANGHAI)
    assert parse_datetime("03/11/2026", ["%d/%m/%Y"], SHANGHAI).month == 11
    with pytest.raises(ValueError, match="not an Excel date serial"):
        parse_datetime(-3, DEFAULT_DATE_FORMATS, SHANGHAI)


def test_cells_as_text() -> None:
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(12.5) == "12.5"
    assert cell_text(" 行一\r\n行二 \ufeff") == "行一\n行二"
    assert cell_text("a\x00b") == "ab"
    assert cell_text(None) == ""


def test_yes_no_and_form_checkboxes() -> None:
    assert [parse_bool(v) for v in ("Yes", "否", "N/A", "", True, 0)] == [
        True,
        False,
        None,
        None,
        True,
        False,
    ]
    with pytest.raises(ValueError, match="not yes/no"):
        parse_bool("maybe")
    assert checked_option("□普通☑紧急□特急") == "紧急"
    assert checked_option("■已解决满意 □基本满意 □未解决") == "已解决满意"
    assert checked_option("普通") == "普通"


def test_matching_ignores_width_case_spaces_and_the_pii_mark() -> None:
    assert match_key("Ｗｅｂ") == match_key("web")
    assert match_key("客户姓名*") == match_key("客户 姓名")
    assert match_key("Postal  Mail") == match_key("postal mail")


def test_codes_made_from_names_fit_the_configuration_pattern() -> None:
    long_name = "Credit reporting, credit repair services, or other personal consumer reports"
    made = [
        make_code("Credit card"),
        make_code("Other mortgage", "mortgage"),
        make_code(long_name),
        make_code("Credit report", make_code(long_name)),
        make_code("电热水壶"),
        make_code("ETC卡"),
    ]
    assert made[:2] == ["credit-card", "mortgage.other-mortgage"]
    assert all(re.fullmatch(CODE_PATTERN, code) for code in made), made
    assert len(set(made)) == len(made)
    assert made[4].startswith("x-")
    assert made[5].startswith("etc-")
    assert make_code("电热水壶") == made[4]  # stable: a second import finds the same code
