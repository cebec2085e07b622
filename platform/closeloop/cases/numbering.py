"""Case numbers: the tenant's pattern per case kind, and a gapless counter per period.

A pattern (`closeloop.config.patterns`) is text with placeholders: `{yyyy}` `{yy}`
`{mm}` `{dd}` (the received date in the tenant's time zone) and exactly one `{seq}` or
`{seq:0N}` (the counter, zero-padded to N digits): `CT-{yyyy}-{seq:05}` → `CT-2026-00042`.

The counter's scope is the pattern rendered for the period with the sequence left as
`{seq}` (`CT-2026-{seq}`): a new year (or month, or day, whatever the pattern names)
starts a new counter, and two kinds sharing a pattern share its counter, so their
numbers cannot collide. Changing only the padding keeps the counter for the same
reason.

The counter is incremented with one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`
inside the intake transaction (`take_number`). The row stays locked until that
transaction ends, so concurrent intakes of one scope queue there; one that rolls back
gives its number back. Numbers are therefore gapless per tenant, scope and period.
Intake takes the number as its last step before writing, so the queue is as short as
the tail of one transaction: one INSERT of everything and the commit.

The same statement renders the number and says whether a case already has it: two
scopes whose patterns print the same text (a tenant that changed its patterns) could
otherwise give one number twice. A number found taken is skipped, and the counter's
next is taken; that skipped value is the only gap numbering ever leaves. Two such
scopes numbering the same text at the very same moment cannot both store it (the
number is unique per tenant): the second intake fails and its caller retries.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy import Integer, Table, Text, bindparam, cast, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.cases.models import Case, NumberCounter
from closeloop.config.patterns import parse_pattern, render_number, validate_pattern
from closeloop.db import new_id

__all__ = ["DEFAULT_PATTERN", "CaseNumbering", "numbering_for_kind", "take_number"]

DEFAULT_PATTERN = "{yyyy}{mm}{seq:04}"
_DATE_PARTS: dict[str, Callable[[dt.date], str]] = {
    "yyyy": lambda d: f"{d.year:04d}",
    "yy": lambda d: f"{d.year % 100:02d}",
    "mm": lambda d: f"{d.month:02d}",
    "dd": lambda d: f"{d.day:02d}",
}


@dataclasses.dataclass(frozen=True, slots=True)
class CaseNumbering:
    """One pattern (checked by `closeloop.config.patterns`) and how it numbers a date."""

    pattern: str

    def scope(self, day: dt.date) -> str:
        """The counter's key for the period containing `day`, e.g. `CT-2026-{seq}`."""
        out = []
        for part in parse_pattern(self.pattern):
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "seq":
                out.append("{seq}")
            else:
                out.append(_DATE_PARTS[part[0]](day))
        return "".join(out)

    def render(self, day: dt.date, seq: int) -> str:
        return render_number(self.pattern, date=day, seq=seq)

    def around_seq(self, day: dt.date) -> tuple[str, int, str]:
        """The number for `day` as the text before the sequence, its zero-padded width
        and the text after it: `render(day, seq)` is `before + str(seq).zfill(width) +
        after`."""
        parts = parse_pattern(self.pattern)
        width = next(p[1] for p in parts if isinstance(p, tuple) and p[0] == "seq")
        # Literal text holds no braces, so the scope's one `{seq}` is the sequence.
        before, _, after = self.scope(day).partition("{seq}")
        return before, width, after


def numbering_for_kind(patterns: dict[str, str] | None, kind: str) -> CaseNumbering:
    """The tenant's pattern for `kind`, else its `default`, else the built-in default.

    A stored pattern that no longer parses (configuration is checked when it is
    written, so this means a bug or a hand edit) raises `PatternError`.
    """
    patterns = patterns or {}
    pattern = patterns.get(kind) or patterns.get("default") or DEFAULT_PATTERN
    validate_pattern(pattern)
    return CaseNumbering(pattern)


_COUNTERS: Table = NumberCounter.__table__  # type: ignore[assignment]
_CASES: Table = Case.__table__  # type: ignore[assignment]
_ATTEMPTS = 5


def _take_number() -> rows.Query:
    """The counter's next value, the number it renders to, and whether a case has it."""
    counted = (
        insert(_COUNTERS)
        .values(
            tenant_id=bindparam("tenant_id"),
            id=bindparam("id"),
            scope=bindparam("scope"),
            value=1,
            created_at=func.now(),
        )
        .on_conflict_do_update(
            index_elements=[_COUNTERS.c.tenant_id, _COUNTERS.c.scope],
            set_={"value": _COUNTERS.c.value + 1},
        )
        .returning(_COUNTERS.c.value)
        .cte("counted")
    )
    seq = cast(counted.c.value, Text)
    number = (
        bindparam("before", type_=Text)
        + func.lpad(seq, func.greatest(bindparam("width", type_=Integer), func.length(seq)), "0")
        + bindparam("after", type_=Text)
    )
    # MATERIALIZED: the number is then a plain value to the lookup below. Inlined, the
    # comparison would call lpad(), which is not leakproof, so row-level security
    # would keep it out of the index condition and read every number of the tenant.
    rendered = (
        select(number.label("number"))
        .select_from(counted)
        .cte("rendered")
        .prefix_with("MATERIALIZED")
    )
    taken = exists().where(
        _CASES.c.tenant_id == bindparam("tenant_id"), _CASES.c.number == rendered.c.number
    )
    return rows.Query(select(rendered.c.number, taken.label("taken")))


# Built once, run through the driver (`rows.Query`).
_TAKE_NUMBER = _take_number()


async def take_number(
    session: AsyncSession, *, tenant_id: uuid.UUID, numbering: CaseNumbering, day: dt.date
) -> str:
    """The next free case number of `numbering` for `day`, counted in the session's
    transaction (the counter row stays locked until it ends)."""
    before, width, after = numbering.around_seq(day)
    number = ""
    for _ in range(_ATTEMPTS):
        found = await _TAKE_NUMBER.fetchrow(
            session,
            tenant_id=tenant_id,
            id=new_id(),
            scope=numbering.scope(day),
            before=before,
            width=width,
            after=after,
        )
        assert found is not None
        number = str(found["number"])
        if not found["taken"]:
            return number
    raise RuntimeError(f"no free case number after {_ATTEMPTS} attempts ({number})")
