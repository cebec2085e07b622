"""Tables as files, streamed: CSV in chunks as the rows come, XLSX in constant memory.

Both writers take the header and an iterable (sync or async) of rows and answer an
async iterator of byte chunks, ready for a streamed HTTP response or a file. Neither
holds more than one chunk of rows in memory, whatever the number of rows:

* CSV is UTF-8 with a byte-order mark (Excel reads Chinese text as UTF-8 only with
  it), written and handed on `CSV_CHUNK_ROWS` rows at a time. Text a spreadsheet
  would run as a formula is quoted with a leading `'`.
* XLSX is written by XlsxWriter in its constant-memory mode (each row goes to a
  temporary file as it is written, strings inline) and packed when the rows end,
  then read back in chunks (so its first byte comes once every row is written); the
  temporary folder is removed when the stream ends or is abandoned. A sheet holds
  at most 1,048,575 rows under its header, so more rows go on to a second sheet
  (`cases-2`), and so on: there is no row cap. Cells are typed (text stays text, so
  nothing in it runs as a formula).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import shutil
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any

import anyio
import xlsxwriter

__all__ = [
    "CSV_CHUNK_ROWS",
    "CSV_MEDIA_TYPE",
    "FILE_CHUNK_BYTES",
    "XLSX_MEDIA_TYPE",
    "XLSX_SHEET_ROWS",
    "csv_cell",
    "stream_csv",
    "stream_xlsx",
]

CSV_MEDIA_TYPE = "text/csv"  # the response adds `; charset=utf-8` to text types
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CHUNK_ROWS = 1000
FILE_CHUNK_BYTES = 256 * 1024
XLSX_SHEET_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Rows = Iterable[Sequence[Any]] | AsyncIterable[Sequence[Any]]


async def _each(rows: Rows) -> AsyncIterator[Sequence[Any]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = _text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


async def stream_csv(columns: Sequence[str], rows: Rows) -> AsyncIterator[bytes]:
    """The header and `rows` as UTF-8 CSV with a byte-order mark, in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    first, pending = True, 0
    async for row in _each(rows):
        writer.writerow([csv_cell(v) for v in row])
        pending += 1
        if pending >= CSV_CHUNK_ROWS:
            yield buffer.getvalue().encode("utf-8-sig" if first else "utf-8")
            buffer.seek(0)
            buffer.truncate()
            first, pending = False, 0
    if first or pending:
        yield buffer.getvalue().encode("utf-8-sig" if first else "utf-8")


class _Sheets:
    """Rows into a constant-memory workbook, a new sheet each `XLSX_SHEET_ROWS` rows."""

    def __init__(self, book: xlsxwriter.Workbook, name: str, columns: Sequence[str]) -> None:
        self.book, self.name, self.columns = book, name, list(columns)
        self.count, self.row = 0, XLSX_SHEET_ROWS + 1
        self.sheet: Any = None
        self.bold = book.add_format({"bold": True})

    def next_sheet(self) -> None:
        self.count += 1
        title = self.name if self.count == 1 else f"{self.name}-{self.count}"
        self.sheet = self.book.add_worksheet(title[:31])
        self.sheet.freeze_panes(1, 0)
        for col, name in enumerate(self.columns):
            self.sheet.write_string(0, col, name, self.bold)
        self.row = 1

    def write(self, values: Sequence[Any]) -> None:
        if self.row > XLSX_SHEET_ROWS:
            self.next_sheet()
        for col, value in enumerate(values):
            if value is None:
                continue
            if isinstance(value, bool):
                self.sheet.write_boolean(self.row, col, value)
            elif isinstance(value, int | float):
                self.sheet.write_number(self.row, col, value)
            else:
                self.sheet.write_string(self.row, col, _text(value))
        self.row += 1


async def stream_xlsx(
    columns: Sequence[str], rows: Rows, *, sheet: str = "data"
) -> AsyncIterator[bytes]:
    """The header and `rows` as an XLSX workbook (sheet `sheet`, more when needed), in
    chunks; memory stays flat however many rows there are."""
    folder = tempfile.mkdtemp(prefix="closeloop-export-")
    path = os.path.join(folder, "export.xlsx")
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "tmpdir": folder})
    try:
        sheets = _Sheets(book, sheet, columns)
        async for row in _each(rows):
            sheets.write(row)
        if sheets.sheet is None:  # no rows: the header alone
            sheets.next_sheet()
        await anyio.to_thread.run_sync(book.close)  # packs the sheets into the file
        async with await anyio.open_file(path, "rb") as packed:
            while chunk := await packed.read(FILE_CHUNK_BYTES):
                yield chunk
    finally:
        for worksheet in book.worksheets():  # abandoned midway: its row files are open
            if worksheet.row_data_fh is not None and not worksheet.row_data_fh.closed:
                worksheet.row_data_fh.close()
        shutil.rmtree(folder, ignore_errors=True)
