"""Counting an uploaded file's data rows for the progress bar without reading its cells:
an XLSX sheet's rows are found in its XML (the same number the reader yields, blank rows
left out, whatever wrote the workbook), a large sheet's stated range is taken as an
upper bound unless it is implausible, another sheet can be counted, and the stated
range is found without reading past the beginning of the sheet."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable

import pytest
from openpyxl import Workbook

from closeloop.imports import ReadError, open_table
from closeloop.imports._sheet_size import sheet_rows, stated_dimension
from closeloop.imports.preview import count_rows

HEADER = ["编号", "日期", "内容"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _rows(count: int) -> list[list[object]]:
    """`count` rows, with blank ones (no cell, empty strings) among them."""
    rows: list[list[object]] = []
    for n in range(count):
        if n % 10 == 3:
            rows.append([None, None, None])
        elif n % 10 == 7:
            rows.append(["", " ", None])
        else:
            rows.append([f"A-{n}", f"2026-11-{1 + n % 28:02d}", f"第 {n} 条投诉" * (n % 4)])
    return rows


def _streamed(count: int) -> bytes:
    """Written as a stream (openpyxl's write-only mode): no stated range, inline text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("投诉")
    sheet.append(HEADER)
    for row in _rows(count):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _whole(count: int, *, second: int = 0) -> bytes:
    """Written whole: a stated range, shared strings; `second` rows on a second sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "投诉"
    sheet.append(HEADER)
    for row in _rows(count):
        sheet.append(row)
    if second:
        other = book.create_sheet("其他")
        other.append(["a", "b"])
        for n in range(second):
            other.append([n, n * 2])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _excel(count: int) -> bytes:
    """Laid out as Excel saves: a stated range, text in the shared strings (blank ones
    among them)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("投诉")
    sheet.write_row(0, 0, HEADER)
    for number, row in enumerate(_rows(count), start=1):
        for column, value in enumerate(row):
            if value is not None:
                sheet.write_string(number, column, str(value))
    book.close()
    return out.getvalue()


def _rewrite(data: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with the first sheet's XML changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = change(body)
            target.writestr(item, body)
    return out.getvalue()


def _read_count(data: bytes, sheet: str | None = None) -> int:
    with open_table(data, format="xlsx", sheet=sheet) as table:
        return sum(1 for _ in table.rows())


@pytest.mark.parametrize("write", [_streamed, _whole, _excel], ids=["streamed", "whole", "excel"])
def test_the_count_is_what_the_reader_reads(write: Callable[[int], bytes]) -> None:
    data = write(250)
    if write is _excel:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert b'<si><t xml:space="preserve"> </t></si>' in archive.read("xl/sharedStrings.xml")
    counted = count_rows(data, format="xlsx")
    assert counted.exact
    assert counted.rows == _read_count(data)
    assert counted.rows == 250 - 25 - 25  # the blank rows left out


def test_a_large_sheets_stated_range_is_an_upper_bound() -> None:
    data = _whole(250)
    stated = sheet_rows(data, scan_bytes=0)
    assert stated is not None
    assert not stated.exact
    assert stated.rows == 250  # rows 2 to 251, blank ones included
    # Small sheets are scanned even when they state their range.
    scanned = sheet_rows(data)
    assert scanned is not None
    assert (scanned.rows, scanned.exact) == (_read_count(data), True)


def test_an_implausible_stated_range_is_not_believed() -> None:
    data = _rewrite(_whole(250), lambda xml: re.sub(rb'ref="A1:C\d+"', b'ref="A1:C1"', xml))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b'<dimension ref="A1:C1"' in archive.read("xl/worksheets/sheet1.xml")
    counted = sheet_rows(data, scan_bytes=0)
    assert counted is not None
    assert (counted.rows, counted.exact) == (_read_count(data), True)


def test_a_sheet_written_with_a_namespace_prefix_is_counted() -> None:
    def prefixed(xml: bytes) -> bytes:
        xml = re.sub(rb"<(/?)(?!\?)([A-Za-z])", rb"<\1x:\2", xml)
        return xml.replace(f'xmlns="{MAIN}"'.encode(), f'xmlns:x="{MAIN}"'.encode())

    data = _rewrite(_streamed(120), prefixed)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert b"<x:row" in archive.read("xl/worksheets/sheet1.xml")
    counted = count_rows(data, format="xlsx")
    assert counted.rows == _read_count(data) == 120 - 12 - 12


def test_another_sheet_is_counted_on_request_and_an_unknown_one_is_refused() -> None:
    data = _whole(40, second=17)
    assert count_rows(data, format="xlsx", sheet="其他").rows == 17 == _read_count(data, "其他")
    assert count_rows(data, format="xlsx").rows == _read_count(data)
    with pytest.raises(ReadError, match="no sheet 'nope'"):
        count_rows(data, format="xlsx", sheet="nope")


def test_an_unreadable_workbook_is_refused_and_a_csv_counted_as_read() -> None:
    with pytest.raises(ReadError, match="not a readable XLSX file"):
        count_rows(b"PK\x03\x04 not really a zip", format="xlsx")
    csv = '编号,内容\nA-1,漏水\n,\nA-2,"两行\n的内容"\n'.encode()
    counted = count_rows(csv, format="csv")
    assert (counted.rows, counted.exact) == (2, True)


class _Counting(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


def test_the_stated_range_is_found_without_reading_the_rows() -> None:
    with zipfile.ZipFile(io.BytesIO(_whole(3000))) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    part = _Counting(xml)
    assert stated_dimension(part) == (1, 1, 3, 3001)
    assert len(xml) > 200_000
    assert part.read_bytes <= 64 * 1024
    with zipfile.ZipFile(io.BytesIO(_streamed(3000))) as archive:
        bare = _Counting(archive.read("xl/worksheets/sheet1.xml"))
    assert stated_dimension(bare) is None
    assert bare.read_bytes <= 64 * 1024
