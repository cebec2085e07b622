"""Reading files as they arrive: encodings (BOM, UTF-8, GBK, others), delimiters, quoted
multi-line fields, broken quoting, XLSX sheets; rows numbered as a spreadsheet shows them."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from closeloop.imports import ReadError, open_table
from closeloop.imports.reading import sniff_delimiter
from closeloop.imports.values import undecodable

PLATFORM = Path(__file__).resolve().parents[3] / "platform"

COMPLAINTS = [
    ("投诉编号", "客户姓名", "投诉内容详情", "投诉渠道"),
    ("202611001", "张三", "电水壶使用两周后底部漏水，要求退货退款。", "电话"),
    ("202611002", "李四", "快递承诺三天送达，实际一周后才到，包装破损。", "在线客服"),
    ("202611003", "王五", "会员被自动续费，没有任何短信告知，要求退款并道歉。", "电子邮件"),
]


def _csv_text(rows: list[tuple[str, ...]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(row) + "\r\n" for row in rows)


def _read(data: bytes, **options: object) -> tuple[dict[str, object], list[tuple[object, ...]]]:
    with open_table(data, **options) as table:  # type: ignore[arg-type]
        rows = [(row.number, *row.cells) for row in table.rows()]
        return table.describe(), rows


def test_a_gbk_file_is_read_as_chinese_not_korean() -> None:
    data = _csv_text(COMPLAINTS).encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    described, rows = _read(data)
    assert (described["encoding"], described["encoding_source"]) == ("gb18030", "gb18030")
    assert described["header"] == list(COMPLAINTS[0])
    assert rows == [(n, *row) for n, row in enumerate(COMPLAINTS[1:], start=2)]


def test_a_tiny_gbk_file_is_read_as_chinese() -> None:
    # Two short lines: too little for a detector, which takes such bytes for cp949.
    data = "标题,要求\n漏水,退款\n".encode("gbk")
    described, rows = _read(data)
    assert described["encoding"] == "gb18030"
    assert described["header"] == ["标题", "要求"]
    assert rows == [(2, "漏水", "退款")]


def test_a_utf8_file_with_a_byte_order_mark_loses_the_mark() -> None:
    data = _csv_text(COMPLAINTS).encode("utf-8-sig")
    described, rows = _read(data)
    assert (described["encoding"], described["encoding_source"]) == ("utf-8-sig", "bom")
    assert described["header"] == list(COMPLAINTS[0])  # "投诉编号", not "\ufeff投诉编号"
    assert rows[0] == (2, *COMPLAINTS[1])


def test_a_utf16_file_with_a_byte_order_mark_is_read() -> None:
    data = _csv_text(COMPLAINTS, "\t").encode("utf-16")
    described, rows = _read(data)
    assert (described["encoding_source"], described["delimiter"]) == ("bom", "\t")
    assert rows[-1] == (4, *COMPLAINTS[3])


def test_a_western_file_falls_back_to_detection() -> None:
    text = "Name;Comment\n" + "".join(
        f"Müller {n};Le café était froid, très décevant, à éviter. Größe {n}\n" for n in range(30)
    )
    described, rows = _read(text.encode("cp1252"))
    assert described["encoding_source"] == "detected"
    assert rows[0] == (2, "Müller 0", "Le café était froid, très décevant, à éviter. Größe 0")
    assert len(rows) == 30


def test_an_encoding_can_be_given_and_bad_bytes_stay_in_their_cell() -> None:
    data = "标题,要求\n漏水,退款\n".encode("gbk")
    described, rows = _read(data, encoding="utf-8")
    assert described["encoding_source"] == "given"
    text = rows[0][2]  # 退款: CD CB BF EE in GBK, not UTF-8
    assert isinstance(text, str)
    # CB BF happens to be UTF-8; CD and EE are not and are kept for the mapping to report
    assert undecodable(text) == "cd ee"
    with pytest.raises(ReadError, match="unknown encoding"):
        _read(data, encoding="klingon")


def test_a_semicolon_file_with_quoted_multi_line_fields() -> None:
    text = (
        "Nummer;Beschreibung;Kanal\r\n"
        '1;"Zeile eins\r\nZeile zwei; mit Semikolon";Telefon\r\n'
        '2;"Er sagte ""Hallo""\nund ging";Web\r\n'
        "\r\n"
        "3;einfach;Brief\r\n"
    )
    with open_table(text.encode("utf-8")) as table:
        assert (table.delimiter, table.delimiter_source) == (";", "sniffed")
        rows = list(table.rows())
        assert table.blank_rows == 1
    assert [r.number for r in rows] == [2, 3, 5]  # the blank row 4 is counted, not yielded
    assert [r.line for r in rows] == [2, 4, 7]
    assert rows[0].cells == ("1", "Zeile eins\r\nZeile zwei; mit Semikolon", "Telefon")
    assert rows[1].cells == ("2", 'Er sagte "Hallo"\nund ging', "Web")
    assert rows[2].cells == ("3", "einfach", "Brief")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_common_delimiter_is_sniffed(delimiter: str) -> None:
    rows = [("a", "b, c; d", "e"), ("1", "x|y", "2"), ("3", "z\tw", "4")]
    quoted = [tuple(f'"{cell}"' if delimiter in cell else cell for cell in r) for r in rows]
    assert sniff_delimiter(_csv_text(quoted, delimiter), complete=True) == delimiter


def test_a_delimiter_can_be_given() -> None:
    described, rows = _read(b"a;b\n1;2\n", delimiter=",")
    assert (described["delimiter"], described["delimiter_source"]) == (",", "given")
    assert rows == [(2, "1;2")]


def test_broken_quoting_is_reported_on_its_row_and_reading_goes_on() -> None:
    text = 'id,text\n1,fine\n2,"closed"then more\n3,also fine\n4,"never closed\n5,lost\n'
    with open_table(text.encode()) as table:
        rows = list(table.rows())
    assert [(r.number, r.problem is None) for r in rows] == [
        (2, True),
        (3, False),
        (4, True),
        (5, False),
    ]
    assert rows[2].cells == ("3", "also fine")
    assert rows[3].problem is not None
    assert "never closed" in rows[3].problem
    assert "lines 5 to 6" in rows[3].problem


def _workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_reads_the_first_sheet_or_a_named_one_with_typed_cells() -> None:
    received = dt.datetime(2026, 11, 3, 14, 30)
    data = _workbook(
        {
            "说明": [["这一页是说明"]],
            "记录": [
                ["投诉编号", "投诉日期", "金额"],
                [202611001, received, 12.5],
                [None, None, None],
                ["202611002", "2026/11/3", None],
            ],
        }
    )
    with open_table(data) as table:
        assert (table.format, table.sheet, table.sheets) == ("xlsx", "说明", ["说明", "记录"])
        assert table.header == ["这一页是说明"]
    with open_table(data, sheet="记录") as table:
        assert table.header == ["投诉编号", "投诉日期", "金额"]
        rows = list(table.rows())
        assert table.blank_rows == 1
    assert [r.number for r in rows] == [2, 4]
    assert rows[0].cells == (202611001, received, 12.5)
    assert rows[1].cells[:2] == ("202611002", "2026/11/3")
    with pytest.raises(ReadError, match="no sheet '投诉'; its sheets: 说明, 记录"):
        open_table(data, sheet="投诉")


def test_a_header_below_title_rows() -> None:
    data = _workbook({"s": [["客户投诉处理与回访记录表"], [], ["编号", "内容"], ["1", "漏水"]]})
    with open_table(data, header_row=3) as table:
        assert table.header == ["编号", "内容"]
        assert [(r.number, r.cells) for r in table.rows()] == [(4, ("1", "漏水"))]


def test_what_is_not_a_table_says_so() -> None:
    with pytest.raises(ReadError, match="not a readable XLSX"):
        open_table(b"PK\x03\x04 not really a zip")
    with pytest.raises(ReadError, match="no header"):
        open_table(b"\n\n")
    with pytest.raises(ReadError, match="cannot open"):
        open_table(Path("/nonexistent/complaints.csv"))


def test_rows_come_one_at_a_time(tmp_path: Path) -> None:
    # The reader does not read ahead: a row far down the file that is broken does not
    # keep the first rows from coming out, and they come before it is reached.
    path = tmp_path / "long.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("id,text\n")
        for n in range(50_000):
            handle.write(f"{n},complaint number {n}\n")
        handle.write('50000,"never closed\n')
    with open_table(path) as table:
        rows = table.rows()
        first = next(rows)
        assert (first.number, first.cells) == (2, ("0", "complaint number 0"))
        rest = list(rows)
    assert len(rest) == 50_000
    assert rest[-1].problem is not None


def test_the_import_package_imports_first_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import closeloop.imports, closeloop.imports.template"],
        env={"PYTHONPATH": str(PLATFORM)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
