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
inside the intake transaction. The row stays locked until that transaction ends, so
concurrent intakes of one scope queue there; one that rolls back gives its number
back. Numbers are therefore gapless per tenant, scope and period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy import Table, bindparam, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.cases.models import NumberCounter
from closeloop.config.patterns import parse_pattern, render_number, validate_pattern
from closeloop.db import new_id

__all__ = ["DEFAULT_PATTERN", "CaseNumbering", "allocate", "numbering_for_kind"]

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
# Built once, run through the driver (`rows.Query`).
_ALLOCATE = rows.Query(
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
)


async def allocate(session: AsyncSession, *, tenant_id: uuid.UUID, scope: str) -> int:
    """The next value of the counter `scope`, counted in the session's transaction."""
    value = await _ALLOCATE.fetchval(session, tenant_id=tenant_id, id=new_id(), scope=scope)
    return int(value)
