"""What the console shows of a file before importing it: how it was read (format,
encoding, delimiter, sheet, and how each was chosen), its header and its first rows;
and how many data rows it has (the progress bar's total: for XLSX found in the sheet's
XML without reading its cells, `closeloop.imports._sheet_size`). No database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import PurePath
from typing import Any

from closeloop.imports._sheet_size import RowCount, sheet_rows
from closeloop.imports.reading import Cell, Format, ReadError, open_table

__all__ = [
    "SUFFIXES",
    "Preview",
    "RowCount",
    "as_format",
    "count_rows",
    "format_of",
    "preview_file",
]

SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}


def as_format(name: str) -> Format:
    """A stored format name as `open_table` takes it."""
    return "xlsx" if name == "xlsx" else "csv"


@dataclasses.dataclass(frozen=True, slots=True)
class Preview:
    described: dict[str, Any]
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)


def format_of(file_name: str) -> Format:
    """`csv` or `xlsx` by the file's name; `ReadError` naming the accepted kinds."""
    suffix = PurePath(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        accepted = ", ".join(SUFFIXES)
        raise ReadError(f"{file_name!r} is not a CSV or XLSX file (accepted: {accepted})")
    return SUFFIXES[suffix]


_UNDECODED = re.compile("[\ud800-\udfff]")


def _shown(text: str) -> str:
    """Bytes the encoding could not decode (kept as surrogates) shown as U+FFFD."""
    return _UNDECODED.sub("\ufffd", text)


def _cell(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat(sep=" ") if isinstance(cell, dt.datetime) else cell.isoformat()
    return _shown(str(cell))


def preview_file(
    data: bytes,
    *,
    format: str,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    limit: int = 10,
) -> Preview:
    """The first `limit` data rows of `data`; raises `ReadError`, `UnicodeError` or
    `LookupError` (an unknown encoding) when it cannot be read so."""
    with open_table(
        data,
        format=as_format(format),
        encoding=encoding,
        delimiter=delimiter,
        sheet=sheet,
    ) as table:
        rows: list[tuple[int, list[str]]] = []
        for row in table.rows():
            cells = [_cell(c) for c in row.cells] if row.problem is None else [row.problem]
            rows.append((row.number, cells))
            if len(rows) == limit:
                break
        described = table.describe()
        header = [_shown(name) for name in table.header]
        return Preview({**described, "header": header}, header, rows)


def count_rows(data: bytes, *, format: str, sheet: str | None = None) -> RowCount:
    """The number of data rows (blank rows left out) of the file, or of its `sheet`.

    The file is opened as an import opens it (its header read: `ReadError` and the
    others as `preview_file` when it cannot be). A CSV's rows are read as an import
    reads them; an XLSX sheet's are counted in its XML (`sheet_rows`: a large sheet's
    stated range, not exact), and read like a CSV's only when its layout is unexpected."""
    with open_table(data, format=as_format(format), sheet=sheet) as table:
        if table.format == "xlsx":
            counted = sheet_rows(data, sheet=table.sheet, header_row=table.header_row)
            if counted is not None:
                return counted
        return RowCount(sum(1 for _ in table.rows()))
