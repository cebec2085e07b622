"""How many data rows an XLSX sheet has, without reading its cells.

Reading a sheet cell by cell (openpyxl) goes at a few thousand rows a second; the
console only needs the number of rows for its progress bar when a file is uploaded.
The sheet's XML part is read as bytes instead:

* a large part (more than `SCAN_BYTES` uncompressed) that states its used range
  (`<dimension ref="A1:R100001"/>`, which Excel and most writers put before the rows)
  is taken at its word: the rows below the header in that range, an upper bound (a
  blank or merely formatted row inside the range counts). Nothing past the range's
  element is read.
* otherwise (a small part, or none stated: streaming writers such as openpyxl's
  write-only mode leave it out) the part is inflated and scanned for `<row>` elements,
  counting those below the header with a value (`<v>` or inline `<t>` text that is not
  only spaces, nor a shared string that is), as the reader counts rows; about 200,000
  rows a second.

`stated_dimension` also serves openpyxl (`closeloop.imports._xlsx`), which otherwise
parses a whole sheet that states no range just to learn that it states none.
"""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import zipfile
from typing import IO, Any

__all__ = ["SCAN_BYTES", "RowCount", "sheet_rows", "stated_dimension"]

# Parts up to this size (uncompressed) are scanned (about 0.1 s) even when they state
# their range: a stated range can be wrong or include formatted blank rows.
SCAN_BYTES = 32 * 2**20
# A stated range is not believed when its rows would be larger than this on average
# (a range that was never updated: "A1:R2" for a sheet of 150 MB).
_MAX_ROW_BYTES = 2**20
_CHUNK = 2**20
_HEAD_LIMIT = 4 * 2**20  # the elements before the rows are small
_PREFIX = rb"(?:[A-Za-z_][\w.-]*:)?"
_ROOT = re.compile(rb"<(" + _PREFIX + rb")worksheet[\s>]")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\s[^>]*?ref\s*=\s*[\"']([^\"']+)[\"']")
_DATA = re.compile(rb"<" + _PREFIX + rb"sheetData[\s>/]")
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")
_NUMBER = re.compile(rb"\sr\s*=\s*[\"'](\d+)")
# A cell's value, or the text of an inline string, that is not blank.
_VALUE = re.compile(rb"<" + _PREFIX + rb"[vt](?:\s[^>]*)?>\s*[^\s<]")
_CELL = re.compile(rb"<" + _PREFIX + rb"c(\s[^>]*?)?(?:/>|>(.*?)</" + _PREFIX + rb"c>)", re.DOTALL)
_SHARED = re.compile(rb"\st\s*=\s*[\"']s[\"']")
_INDEX = re.compile(rb"<" + _PREFIX + rb"v(?:\s[^>]*)?>\s*(\d+)")
_ITEM = re.compile(
    rb"<" + _PREFIX + rb"si(?:\s[^>]*)?(?:/>|>.*?</" + _PREFIX + rb"si>)",
    re.DOTALL,
)
_TEXT = re.compile(rb"<" + _PREFIX + rb"t(?:\s[^>]*)?>([^<]*)<")
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclasses.dataclass(frozen=True, slots=True)
class RowCount:
    """Data rows below the header; `exact` is False when they come from the sheet's
    stated range (an upper bound) rather than from its rows."""

    rows: int
    exact: bool = True


def _column(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _bounds(ref: str) -> tuple[int, int, int, int] | None:
    """(min column, min row, max column, max row) of `A1:R200` or `A1`; None when odd."""
    corners = []
    for part in ref.strip().split(":"):
        found = _CELL_REF.match(part.strip())
        if found is None:
            return None
        corners.append((_column(found.group(1)), int(found.group(2))))
    if len(corners) == 1:
        corners.append(corners[0])
    if len(corners) != 2:
        return None
    (first_col, first_row), (last_col, last_row) = corners
    return first_col, first_row, last_col, last_row


def _head(part: IO[bytes]) -> tuple[bytes, bytes]:
    """The bytes of the part before its rows (up to `_HEAD_LIMIT`), and what was read
    past them."""
    head = b""
    while len(head) < _HEAD_LIMIT:
        chunk = part.read(64 * 1024)
        if not chunk:
            return head, b""
        start = max(0, len(head) - 16)  # the tag may begin in the previous chunk
        head += chunk
        found = _DATA.search(head, start)
        if found is not None:
            return head[: found.start()], head[found.start() :]
    return head, b""


def stated_dimension(part: IO[bytes]) -> tuple[int, int, int, int] | None:
    """The used range the sheet states before its rows, as (min column, min row, max
    column, max row); None when it states none. Reads only the part's beginning."""
    head, _ = _head(part)
    found = _DIMENSION.search(head)
    return _bounds(found.group(1).decode("ascii", "replace")) if found else None


def _blank_strings(archive: zipfile.ZipFile, path: str | None) -> frozenset[int]:
    """The indexes of the workbook's shared strings that are blank (only spaces)."""
    if path is None:
        return frozenset()
    data = archive.read(path)
    return frozenset(
        index
        for index, item in enumerate(_ITEM.finditer(data))
        if not b"".join(_TEXT.findall(item.group(0))).strip()
    )


def _has_value(row: bytes, blank_strings: frozenset[int]) -> bool:
    """Whether the XML of one row holds a value that is not blank."""
    if not _VALUE.search(row):
        return False
    if not blank_strings:
        return True
    for cell in _CELL.finditer(row):
        attributes, body = cell.group(1) or b"", cell.group(2) or b""
        if attributes and _SHARED.search(attributes):
            index = _INDEX.search(body)
            if index is not None and int(index.group(1)) not in blank_strings:
                return True
        elif _VALUE.search(body):
            return True
    return False


def _scan(
    part: IO[bytes], head: bytes, rest: bytes, header_row: int, blank_strings: frozenset[int]
) -> int:
    """Rows numbered after `header_row` holding a value, read from the part's XML
    (a row whose shared strings, `blank_strings` by index, are only spaces is blank)."""
    root = _ROOT.search(head)
    prefix = root.group(1) if root else b""
    tag, end = b"<" + prefix + b"row", b"</" + prefix + b"sheetData"
    count, number, carry, last = 0, 0, rest, False
    while not last:
        chunk = part.read(_CHUNK)
        buffer = carry + chunk
        last = not chunk
        cut = buffer.find(end)
        if cut >= 0:
            buffer, last = buffer[:cut], True
        pieces = buffer.split(tag)
        if last:
            carry = b""
        elif len(pieces) == 1:  # no row yet: keep the end, a tag may be cut there
            carry = buffer[-len(tag) :]
            continue
        else:  # the last row may be cut short: read it with the next chunk
            carry = tag + pieces.pop()
        for piece in pieces[1:]:
            if piece[:1] not in b" \t\r\n>/":
                continue  # another element whose name starts with "row"
            close = piece.find(b">")
            if number <= header_row:  # rows come in order: only the first need numbers
                found = _NUMBER.search(piece, 0, close)
                number = int(found.group(1)) if found else number + 1
                if number <= header_row:
                    continue
            if piece[close - 1 : close] != b"/" and _has_value(piece[close:], blank_strings):
                count += 1
    return count


def _xml(archive: zipfile.ZipFile, path: str) -> Any:
    from openpyxl.xml.functions import fromstring  # the parser openpyxl reads with

    return fromstring(archive.read(path))


def _parts(archive: zipfile.ZipFile, sheet: str | None) -> tuple[str, str | None]:
    """The archive paths of the sheet named `sheet` (default: the first) and of the
    shared strings, if any; KeyError when the workbook has no such sheet."""
    book = next(
        (
            str(rel.get("Target", ""))
            for rel in _xml(archive, "_rels/.rels").iter(_RELS)
            if str(rel.get("Type", "")).endswith("/officeDocument")
        ),
        "xl/workbook.xml",
    ).lstrip("/")
    folder, name = posixpath.split(book)
    rels = _xml(archive, posixpath.join(folder, "_rels", name + ".rels"))
    targets = {rel.get("Id"): str(rel.get("Target", "")) for rel in rels.iter(_RELS)}

    def path(target: str) -> str:
        if target.startswith("/"):
            return target.lstrip("/")
        return posixpath.normpath(posixpath.join(folder, target))

    strings = next(
        (
            path(str(rel.get("Target", "")))
            for rel in rels.iter(_RELS)
            if str(rel.get("Type", "")).endswith("/sharedStrings")
        ),
        None,
    )
    for element in _xml(archive, book).iter(f"{_MAIN}sheet"):
        if sheet is None or element.get("name") == sheet:
            return path(targets[element.get(_REL_ID)]), strings
    raise KeyError(sheet)


def sheet_rows(
    data: bytes, *, sheet: str | None = None, header_row: int = 1, scan_bytes: int | None = None
) -> RowCount | None:
    """The data rows of `sheet` (default the first) of the XLSX file `data`: its stated
    range when the sheet is larger than `scan_bytes` (`SCAN_BYTES`), else its rows with
    a value. None when the workbook is not laid out as expected (the reader then
    counts, and says what is wrong with it)."""
    if scan_bytes is None:
        scan_bytes = SCAN_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            path, strings = _parts(archive, sheet)
            size = archive.getinfo(path).file_size
            with archive.open(path) as part:
                head, rest = _head(part)
                stated = _DIMENSION.search(head)
                bounds = _bounds(stated.group(1).decode("ascii", "replace")) if stated else None
                if size > scan_bytes and bounds is not None:
                    rows = bounds[3] - max(header_row, bounds[1] - 1)
                    if rows > 0 and size <= rows * _MAX_ROW_BYTES:
                        return RowCount(rows, exact=False)
                blank = _blank_strings(archive, strings)
                return RowCount(_scan(part, head, rest, header_row, blank))
    except Exception:  # any surprise in the workbook's layout: the reader counts instead
        return None
