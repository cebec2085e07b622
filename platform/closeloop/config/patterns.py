"""Case number patterns: `{yyyy}{mm}{seq:04}` gives `2026110001`, `CT-{yyyy}-{seq:05}`
gives `CT-2026-00001`.

Placeholders: `{yyyy}` `{yy}` `{mm}` `{dd}` (the received date in the tenant's time
zone) and `{seq}` / `{seq:0N}` (the per-period sequence, zero-padded to N digits).
The sequence restarts with each period, and the period is the finest date
placeholder in the pattern: a pattern with `{dd}` numbers per day, with `{mm}` per
month, with `{yyyy}` or `{yy}` per year, with none never restarts.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["PatternError", "parse_pattern", "period_key", "render_number", "validate_pattern"]

MAX_LENGTH = 64
MAX_SEQ_WIDTH = 12
_TOKEN = re.compile(r"\{([^{}]*)\}")
_SEQ = re.compile(r"^seq(?::0([1-9]\d?))?$")
_DATE_PLACEHOLDERS = ("yyyy", "yy", "mm", "dd")


class PatternError(ValueError):
    """The pattern cannot number cases; the message says why."""


def parse_pattern(pattern: str) -> list[str | tuple[str, int]]:
    """The pattern as literal strings and placeholders (`(name, width)`), or `PatternError`."""
    if not pattern:
        raise PatternError("a number pattern cannot be empty")
    if len(pattern) > MAX_LENGTH:
        raise PatternError(f"a number pattern has at most {MAX_LENGTH} characters")
    parts: list[str | tuple[str, int]] = []
    position, seq_count = 0, 0
    for match in _TOKEN.finditer(pattern):
        parts.extend(_literal(pattern[position : match.start()]))
        name = match.group(1)
        seq = _SEQ.match(name)
        if seq:
            width = int(seq.group(1) or 0)
            if width > MAX_SEQ_WIDTH:
                raise PatternError(f"{{seq:0N}} pads to at most {MAX_SEQ_WIDTH} digits")
            parts.append(("seq", width))
            seq_count += 1
        elif name in _DATE_PLACEHOLDERS:
            parts.append((name, 0))
        else:
            raise PatternError(
                f"unknown placeholder {{{name}}}; "
                "use {yyyy} {yy} {mm} {dd} {seq} or {seq:0N}"
            )
        position = match.end()
    parts.extend(_literal(pattern[position:]))
    if seq_count != 1:
        raise PatternError(
            "a number pattern needs exactly one {seq} or {seq:0N} placeholder"
            if seq_count == 0
            else "a number pattern may contain {seq} only once"
        )
    return parts


def _literal(text: str) -> list[str]:
    if "{" in text or "}" in text:
        raise PatternError("unbalanced '{' or '}' in the number pattern")
    if any(ch.isspace() for ch in text):
        raise PatternError("a number pattern cannot contain spaces")
    return [text] if text else []


def validate_pattern(pattern: str) -> str:
    """Return `pattern` if it is a usable number pattern, else raise `PatternError`."""
    parse_pattern(pattern)
    return pattern


def render_number(pattern: str, *, date: dt.date, seq: int) -> str:
    """The case number for sequence `seq` received on `date` (tenant-local)."""
    out = []
    for part in parse_pattern(pattern):
        if isinstance(part, str):
            out.append(part)
            continue
        name, width = part
        if name == "seq":
            out.append(str(seq).zfill(width))
        elif name == "yyyy":
            out.append(f"{date.year:04d}")
        elif name == "yy":
            out.append(f"{date.year % 100:02d}")
        elif name == "mm":
            out.append(f"{date.month:02d}")
        else:
            out.append(f"{date.day:02d}")
    return "".join(out)


def period_key(pattern: str, date: dt.date) -> str:
    """The period a number falls in: `2026-11-25`, `2026-11`, `2026`, or `all`."""
    names = {part[0] for part in parse_pattern(pattern) if isinstance(part, tuple)}
    if "dd" in names:
        return date.isoformat()
    if "mm" in names:
        return f"{date.year:04d}-{date.month:02d}"
    if names & {"yyyy", "yy"}:
        return f"{date.year:04d}"
    return "all"
