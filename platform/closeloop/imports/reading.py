"""Reading a CSV or XLSX file one row at a time, with the row number a person would see.

`open_table(source)` finds the format (from `format`, the file name, or the content),
for CSV the text encoding (`_encoding`) and the delimiter (sniffed among comma,
semicolon, tab and pipe), reads the header, and returns a `Table` whose `rows()` yields
`SourceRow`s one at a time: memory stays flat however long the file is. Every choice
made is reported on the table (`encoding`, `encoding_source`, `delimiter`,
`delimiter_source`, `sheet`) and every one can be given instead.

Row numbers are 1-based and count the header: they are the row numbers a spreadsheet
program shows for the same file (for a CSV, a quoted field spanning several lines is
one row; `SourceRow.line` is its first physical line). Rows with no value at all are
skipped and counted in `Table.blank_rows`. A CSV row whose quoting is broken comes out
with `problem` set (and no cells) and reading goes on with the next row.
"""

from __future__ import annotations

import codecs
import collections
import csv
import dataclasses
import datetime as dt
import io
import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Literal, Self

from closeloop.imports._encoding import (
    DetectedEncoding,
    EncodingSource,
    UnknownEncoding,
    detect_encoding,
)

__all__ = [
    "DELIMITERS",
    "Cell",
    "Format",
    "ReadError",
    "SourceRow",
    "Table",
    "header_from",
    "open_table",
    "sniff_delimiter",
    "table_from",
]

Cell = str | int | float | bool | dt.datetime | dt.date | dt.time | dt.timedelta | None
Format = Literal["csv", "xlsx"]
Source = str | os.PathLike[str] | bytes | BinaryIO

DELIMITERS = (",", ";", "\t", "|")
SNIFF_SAMPLE = 64 * 1024
SNIFF_RECORDS = 50
# Long narratives are normal in complaint exports; the csv module's default is 128 KiB.
FIELD_LIMIT = 16 * 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}


class ReadError(Exception):
    """The file cannot be read at all: not CSV or XLSX, no such sheet, unknown encoding."""


@dataclasses.dataclass(frozen=True, slots=True)
class SourceRow:
    """One data row: its spreadsheet row number, its cells in header order, and for a
    CSV row whose quoting is broken, `problem` (then `cells` is empty)."""

    number: int
    cells: tuple[Cell, ...]
    line: int | None = None
    problem: str | None = None


class Table:
    """An open file: what was found about it, its header, and its rows (`rows()`, once)."""

    def __init__(
        self,
        *,
        format: Format,
        header: list[str],
        header_row: int,
        records: Iterator[SourceRow],
        close: Callable[[], None],
    ) -> None:
        self.format = format
        self.header = header
        self.header_row = header_row
        self.encoding: str | None = None
        self.encoding_source: EncodingSource | None = None
        self.delimiter: str | None = None
        self.delimiter_source: Literal["sniffed", "given"] | None = None
        self.sheet: str | None = None
        self.sheets: list[str] = []
        # Rows after the header with no value at all: skipped, and counted here.
        self.blank_rows = 0
        self._records = records
        self._close = close
        self._started = False

    def rows(self) -> Iterator[SourceRow]:
        """The data rows after the header, one at a time (the file is read as they are)."""
        if self._started:
            raise RuntimeError("the rows of a table can be read once")
        self._started = True
        for row in self._records:
            if row.problem is None and all(_is_blank(cell) for cell in row.cells):
                self.blank_rows += 1
                continue
            yield row

    def describe(self) -> dict[str, Any]:
        """What a preview shows: format, encoding and delimiter and how they were chosen."""
        return {
            "format": self.format,
            "encoding": self.encoding,
            "encoding_source": self.encoding_source,
            "delimiter": self.delimiter,
            "delimiter_source": self.delimiter_source,
            "sheet": self.sheet,
            "sheets": self.sheets,
            "header_row": self.header_row,
            "header": self.header,
        }

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def header_from(records: Iterator[SourceRow], header_row: int) -> list[str]:
    """The column names in row `header_row` (the records before it are consumed);
    empty when the file ends first or the row is blank."""
    for row in records:
        if row.number == header_row:
            return [_header_text(cell) for cell in row.cells]
        if row.number > header_row:
            break
    return []


def table_from(
    format: Format,
    records: Iterator[SourceRow],
    *,
    header_row: int,
    close: Callable[[], None],
    where: str,
) -> Table:
    """The table of `records`, its header read from row `header_row`; `ReadError` naming
    `where` ("the file", "sheet 'x'") when that row is blank or missing."""
    header = header_from(records, header_row)
    if not any(header):
        close()
        raise ReadError(f"{where} has no header in row {header_row}")
    return Table(format=format, header=header, header_row=header_row, records=records, close=close)


def _header_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def open_table(
    source: Source,
    *,
    format: Format | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    header_row: int = 1,
) -> Table:
    """Open `source` (a path, the file's bytes, or a seekable binary file) for reading.

    `encoding`, `delimiter` (CSV) and `sheet` (XLSX; default the first) override what
    would be detected; `header_row` is the row holding the column names (rows above it
    are titles and are skipped). Raises `ReadError` when the file cannot be read.
    """
    if header_row < 1:
        raise ReadError(f"header_row must be 1 or more, not {header_row}")
    stream, owned = _binary(source)
    try:
        kind = format or _format_of(source, stream)
        if kind == "xlsx":
            from closeloop.imports._xlsx import open_xlsx

            table = open_xlsx(stream, sheet=sheet, header_row=header_row, owned=owned)
        elif kind == "csv":
            table = _open_csv(stream, encoding, delimiter, header_row, owned)
        else:
            raise ReadError(f"unknown format {kind!r}; use csv or xlsx")
    except BaseException:
        if owned:
            stream.close()
        raise
    return table


def _binary(source: Source) -> tuple[BinaryIO, bool]:
    if isinstance(source, bytes):
        return io.BytesIO(source), True
    if isinstance(source, str | os.PathLike):
        try:
            return open(source, "rb"), True
        except OSError as exc:
            raise ReadError(f"cannot open {os.fspath(source)}: {exc.strerror}") from None
    if not source.seekable():
        raise ReadError("the file must be seekable (it is read twice: to detect, then to read)")
    return source, False


def _format_of(source: Source, stream: BinaryIO) -> Format:
    if isinstance(source, str | os.PathLike):
        known = _SUFFIXES.get(Path(source).suffix.lower())
        if known:
            return known
    head = stream.read(4)
    stream.seek(0)
    return "xlsx" if head == _XLSX_MAGIC else "csv"


# ---- CSV ----------------------------------------------------------------------------------


def sniff_delimiter(sample: str, *, complete: bool = False) -> str:
    """The delimiter among `DELIMITERS` that splits the first records of `sample` into
    the same number (more than one) of fields most consistently; a comma if none does.

    The sample is parsed as CSV for each candidate, so quoted fields holding other
    candidates or line breaks do not mislead it. Unless `complete`, the last record of
    the sample may be cut short and is not counted.
    """
    best: tuple[float, int, str] | None = None
    for candidate in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=candidate)
        try:
            counts = [len(r) for r in itertools.islice(reader, SNIFF_RECORDS + 1) if r]
        except csv.Error:
            continue
        if len(counts) > 1 and not complete:
            counts = counts[:-1]
        if not counts:
            continue
        width, frequency = collections.Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        score = (frequency / len(counts), width, candidate)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else ","


def _open_csv(
    stream: BinaryIO, encoding: str | None, delimiter: str | None, header_row: int, owned: bool
) -> Table:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ReadError(f"unknown encoding {encoding!r}") from None
        found = DetectedEncoding(encoding, "given")
    else:
        try:
            found = detect_encoding(stream)
        except UnknownEncoding as exc:
            raise ReadError(str(exc)) from None
    if delimiter is not None and len(delimiter) != 1:
        raise ReadError(f"the delimiter must be one character, not {delimiter!r}")
    if delimiter is None:
        raw = stream.read(SNIFF_SAMPLE)
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(found.encoding)(errors="replace")
        sample = decoder.decode(raw, final=len(raw) < SNIFF_SAMPLE)
        chosen = sniff_delimiter(sample, complete=len(raw) < SNIFF_SAMPLE)
    else:
        chosen = delimiter
    # A given encoding is not checked up front: bytes it cannot decode come through as
    # lone surrogates, which the mapping reports against their cell.
    errors = "surrogateescape" if found.source == "given" else "strict"
    text = io.TextIOWrapper(stream, encoding=found.encoding, errors=errors, newline="")
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(text, delimiter=chosen, strict=True)

    def close() -> None:
        if owned:
            text.close()
        else:
            text.detach()

    records = _csv_records(reader)
    table = table_from("csv", records, header_row=header_row, close=close, where="the file")
    table.encoding, table.encoding_source = found.encoding, found.source
    table.delimiter = chosen
    table.delimiter_source = "sniffed" if delimiter is None else "given"
    return table


def _csv_records(reader: Any) -> Iterator[SourceRow]:
    """Every record with its number (blank lines included: they are rows in a spreadsheet).
    A record with broken quoting is yielded with `problem` and reading continues."""
    number, last_line = 0, 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            first, last_line = last_line + 1, reader.line_num
            yield SourceRow(number, (), first, _quoting_problem(str(exc), first, last_line))
            continue
        number += 1
        first, last_line = last_line + 1, reader.line_num
        yield SourceRow(number, tuple(cells), first)


def _quoting_problem(message: str, first: int, last: int) -> str:
    if "unexpected end of data" in message:
        return (
            f"a quoted value opened in this row (line {first}) is never closed: "
            f"lines {first} to {last}, the end of the file, could not be read as rows"
        )
    return f"broken quoting (lines {first}-{last}): {message}"
