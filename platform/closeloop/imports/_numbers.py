"""Case numbers for a batch of imported cases: the tenant's counters, reserved per scope.

Intake takes one number per case (`closeloop.cases.numbering.take_number`); an import
moves every counter scope of a batch on by the batch's count in that scope, all in one
statement, gives the numbers out in the order of the cases (their received times), and
renders them as intake would. A rendered number
some case already has (a tenant that changed its patterns) is taken again one at a
time by intake's own function, which skips taken numbers.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case
from closeloop.cases.numbering import CaseNumbering, take_number
from closeloop.db import bound_tenant, new_id

__all__ = ["NumberBook"]

# Every scope's counter moved on by its count at once; answers each scope's new value.
_RESERVE = text(
    "INSERT INTO number_counters (tenant_id, id, scope, value, created_at) "
    "SELECT :tenant_id, u.id, u.scope, u.count, now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:scopes AS text[]), CAST(:counts AS bigint[])) "
    "AS u(id, scope, count) "
    "ON CONFLICT (tenant_id, scope) DO UPDATE SET value = number_counters.value + EXCLUDED.value "
    "RETURNING scope, value"
)


class NumberBook:
    def __init__(self, session: AsyncSession, zone: zoneinfo.ZoneInfo) -> None:
        tenant_id = bound_tenant(session)
        assert tenant_id is not None, "NumberBook needs a tenant-bound session"
        self.session = session
        self.zone = zone
        self.tenant_id = tenant_id

    async def take(
        self, wanted: list[tuple[CaseNumbering, dt.datetime]], *, check_taken: bool = True
    ) -> list[str]:
        """One new number per (numbering, received time), in the given order.
        `check_taken=False`: the tenant has no case the counters did not number."""
        days = [at.astimezone(self.zone).date() for _, at in wanted]
        # (text before the sequence, its width, text after) per pattern and day: a
        # pattern is parsed once per batch and day, not once per case.
        shapes: dict[tuple[str, dt.date], tuple[str, int, str]] = {}
        parts: list[tuple[str, int, str]] = []
        scopes: dict[str, list[int]] = {}
        for index, ((numbering, _), day) in enumerate(zip(wanted, days, strict=True)):
            key = (numbering.pattern, day)
            shape = shapes.get(key)
            if shape is None:
                shape = shapes[key] = numbering.around_seq(day)
            parts.append(shape)
            before, _, after = shape
            scopes.setdefault(f"{before}{{seq}}{after}", []).append(index)
        out = [""] * len(wanted)
        if not scopes:
            return out
        names = list(scopes)
        counted = await self.session.execute(
            _RESERVE,
            {
                "tenant_id": self.tenant_id,
                "ids": [new_id() for _ in names],
                "scopes": names,
                "counts": [len(scopes[name]) for name in names],
            },
        )
        last = {str(scope): int(value) for scope, value in counted.all()}
        for scope, indexes in scopes.items():
            first = last[scope] - len(indexes) + 1
            for offset, index in enumerate(indexes):
                before, width, after = parts[index]
                out[index] = f"{before}{str(first + offset).zfill(width)}{after}"
        if out and check_taken:
            given = bindparam("numbers", out, type_=ARRAY(String))
            query = select(Case.number).where(Case.number == any_(given))
            taken = set(await self.session.scalars(query))
            for index, number in enumerate(out):
                if number in taken:
                    out[index] = await take_number(
                        self.session,
                        tenant_id=self.tenant_id,
                        numbering=wanted[index][0],
                        day=days[index],
                    )
        return out
