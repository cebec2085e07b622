"""Reading an XLSX sheet row by row with openpyxl's read-only mode.

The sheet's XML is parsed as it is read, so memory does not grow with the number of
rows; what does grow is the workbook's shared-string table, which the format keeps in
one part and openpyxl loads whole (bench/import_read.py measures both, and python-calamine
for comparison). The stored dimension of a sheet is ignored (`reset_dimensions`): some
programs write a wrong one, and openpyxl would stop reading where it says.

openpyxl looks for that stated range whenever it opens a sheet read-only, and when the
sheet states none (streaming writers leave it out) it parses the whole sheet to find
out: six seconds for 100,000 rows, on every preview. `_stated_size` replaces that probe
with one that reads only the part before the rows (`stated_dimension`), where the
format puts the range.

Cells come as Python values: text, numbers, `datetime` for cells formatted as dates,
booleans, None. A date typed into a cell formatted as a number arrives as its Excel
serial number; the mapping's date parsers take both.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from closeloop.imports._sheet_size import stated_dimension
from closeloop.imports.reading import ReadError, SourceRow, Table, table_from

__all__ = ["open_xlsx"]


def _stated_size(worksheet: Any) -> None:
    """`ReadOnlyWorksheet._get_size` reading only the sheet's beginning."""
    with worksheet._get_source() as source:
        bounds = stated_dimension(source)
    if bounds is not None:
        (
            worksheet._min_column,
            worksheet._min_row,
            worksheet._max_column,
            worksheet._max_row,
        ) = bounds


def _cheap_size_probe() -> None:
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    if getattr(ReadOnlyWorksheet, "_get_size", None) not in (None, _stated_size):
        ReadOnlyWorksheet._get_size = _stated_size


def open_xlsx(stream: BinaryIO, *, sheet: str | None, header_row: int, owned: bool) -> Table:
    from openpyxl import load_workbook

    _cheap_size_probe()

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReadError(f"not a readable XLSX file: {exc}") from None
    names = list(book.sheetnames)

    def close() -> None:
        book.close()
        if owned:
            stream.close()

    if sheet is None:
        chosen = names[0]
    elif sheet in names:
        chosen = sheet
    else:
        close()
        raise ReadError(f"the workbook has no sheet {sheet!r}; its sheets: {', '.join(names)}")
    worksheet = book[chosen]
    worksheet.reset_dimensions()
    where = f"sheet {chosen!r}"
    table = table_from("xlsx", _records(worksheet), header_row=header_row, close=close, where=where)
    table.sheet, table.sheets = chosen, names
    return table


def _records(worksheet: Any) -> Iterator[SourceRow]:
    for number, values in enumerate(worksheet.iter_rows(min_row=1, values_only=True), start=1):
        yield SourceRow(number, tuple(values))
