"""Turning one cell into a typed value: text, dates and times (text in given formats, ISO,
or Excel serial numbers), booleans, numbers, codes made from text.

Every parser takes what either reader gives (CSV: text; XLSX: text, numbers, datetimes)
and raises `ValueError` with a message a user can act on.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence

from closeloop.imports.reading import Cell

__all__ = [
    "DEFAULT_DATE_FORMATS",
    "cell_text",
    "checked_option",
    "make_code",
    "match_key",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_int",
    "parse_number",
    "undecodable",
]

# Tried in order after ISO 8601 when a mapping names no formats. Day-first and
# month-first forms (03/11/2026) are ambiguous: a mapping that needs one names it.
DEFAULT_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日 %H时%M分",
    "%Y年%m月%d日",
)

# Control characters PostgreSQL text cannot hold or that no one typed on purpose, and the
# byte-order marks that spreadsheet exports leave inside cells.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]")
_SPACES = re.compile(r"\s+")
_UNDECODABLE = re.compile(r"[\udc80-\udcff]+")
_ISO_START = re.compile(r"\d{4}-\d\d-\d\d")
_SERIAL = re.compile(r"\d{5}(?:\.\d+)?")
# 2026-11-03, 2026/11/3 9:05, 2026.11.03 14:30:00: the numeric default formats.
_NUMERIC_DATE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?"
)
_CHECKED = "☑✅■▣☒✔✓√"
_BOXES = "□☐" + _CHECKED
_CHECKED_OPTION = re.compile(rf"[{_CHECKED}]\s*([^{_BOXES}]*)")
_CHECKED_MARK = re.compile(f"[{_CHECKED}]")
# Excel's day 0 is 1899-12-30 once its fictitious 1900-02-29 is accounted for.
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # a calendar origin, not a moment
_MAX_SERIAL = 2_958_465  # 9999-12-31
_TRUE = frozenset({"yes", "y", "true", "t", "1", "是", "有", "对", "√", "✓", "✔"})
_FALSE = frozenset({"no", "n", "false", "f", "0", "否", "无", "不", "×", "✗"})
_NONE = frozenset({"", "n/a", "na", "none", "null", "-", "—", "无数据"})


def cell_text(value: Cell) -> str:
    """A cell as text, stripped, with line breaks as `\\n` and junk characters removed.
    Whole numbers from a spreadsheet lose their `.0` (phone numbers, order numbers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        if value.isprintable():  # no control character, line break or byte-order mark
            return value.strip()
        text = value
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, float):
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    else:
        text = str(value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _JUNK.sub("", text).strip()


def undecodable(text: str) -> str | None:
    """The bytes of `text` that did not decode in the file's encoding, as hex; or None."""
    if text.isascii():
        return None
    found = _UNDECODABLE.findall(text)
    if not found:
        return None
    return " ".join(f"{ord(c) - 0xDC00:02x}" for c in "".join(found))


@functools.lru_cache(maxsize=4096)
def match_key(text: str) -> str:
    """`text` folded for matching a value or a column name: compatibility forms (full-width
    letters and brackets), case and spaces do not count; a trailing `*` (the form's mark
    of personal data) neither."""
    folded = _SPACES.sub("", unicodedata.normalize("NFKC", text)).casefold()
    return folded.rstrip("*")


def checked_option(text: str) -> str:
    """The ticked option of a form's checkbox line (`□普通☑紧急□特急` → `紧急`), else `text`."""
    if text.isascii() or not _CHECKED_MARK.search(text):
        return text
    found = _CHECKED_OPTION.search(text)
    return found.group(1).strip() if found else text


def parse_datetime(value: Cell, formats: Sequence[str], zone: dt.tzinfo) -> dt.datetime:
    """A moment: a spreadsheet datetime or date, an Excel serial number, or text in ISO
    8601 or one of `formats`. A time without an offset is taken in `zone`."""
    moment = _naive_or_aware(value, formats)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _naive_or_aware(value: Cell, formats: Sequence[str]) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_serial(float(value))
    text = cell_text(value)
    if not text:
        raise ValueError("empty")
    if _ISO_START.match(text):
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    if formats is DEFAULT_DATE_FORMATS:  # the common forms without strptime (5x faster)
        numeric = _NUMERIC_DATE.fullmatch(text)
        if numeric:
            try:
                year, month, day, hour, minute, second = map(int, numeric.groups(default="0"))
                return dt.datetime(year, month, day, hour, minute, second)
            except ValueError:
                pass
    for pattern in formats:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    if _SERIAL.fullmatch(text):
        return _from_serial(float(text))
    shown = ", ".join(formats) or "ISO 8601"
    raise ValueError(f"not a date/time in ISO 8601 or any of: {shown}")


def _from_serial(serial: float) -> dt.datetime:
    if not math.isfinite(serial) or not 1 <= serial <= _MAX_SERIAL:
        raise ValueError(f"{serial:g} is not an Excel date serial number")
    if serial < 61:  # Excel counts a 1900-02-29 that never was: before it, one day less
        serial += 1
    moment = _EXCEL_EPOCH + dt.timedelta(days=serial)
    # Spreadsheets store times as fractions of a day: round to the second.
    return (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def parse_date(value: Cell, formats: Sequence[str]) -> dt.date:
    """A calendar date; a datetime value keeps only its date."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return _naive_or_aware(value, formats).date()


def parse_bool(value: Cell) -> bool | None:
    """Yes/no in English or Chinese (是/否), true/false, 1/0; None for empty or N/A."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = match_key(cell_text(value))
    if key in _NONE:
        return None
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError("not yes/no (yes, no, true, false, 是, 否, 1, 0; empty or N/A for none)")


def parse_int(value: Cell) -> int:
    if isinstance(value, bool):
        raise ValueError("not a whole number")
    if isinstance(value, int):
        return value
    number = parse_number(value)
    if not number.is_integer():
        raise ValueError("not a whole number")
    return int(number)


def parse_number(value: Cell) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = cell_text(value).replace(",", "").replace("，", "")
    try:
        number = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(number):
        raise ValueError("not a number")
    return number


CODE_LENGTH = 64


def make_code(text: str, parent: str | None = None) -> str:
    """A configuration code for an item created from `text` (a category named in the file):
    its ASCII words in lower case joined by `-` (`Credit card` → `credit-card`), with a
    short hash of the text when it has other characters (Chinese) or had to be cut; a
    child's code starts with its parent's (`mortgage.other-mortgage`). Codes fit the
    configuration's pattern (`[a-z0-9][a-z0-9_.-]{0,63}`) and are stable across runs."""
    ascii_part = re.sub(r"[^a-z0-9]+", "-", text.casefold().encode("ascii", "ignore").decode())
    slug = ascii_part.strip("-")
    prefix = f"{parent}." if parent else ""
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()
    exact = bool(slug) and text.isascii() and len(prefix) + len(slug) <= CODE_LENGTH
    if exact:
        return prefix + slug
    room = CODE_LENGTH - len(prefix) - len(digest) - 1
    if room < 1:  # a deep tree: the parent's code is cut too, the hash keeps it unique
        return f"{prefix[: CODE_LENGTH - len(digest) - 1]}-{digest}".lstrip(".-")
    head = slug[:room].strip("-")
    return f"{prefix}{head}-{digest}" if head else f"{prefix}x-{digest}"
