"""Case numbers for a batch of imported cases: the tenant's counters, reserved per scope.

Intake takes one number per case (`closeloop.cases.numbering.take_number`); an import
takes a whole batch's numbers of one counter scope with one statement, in the order of
the cases (their received times), and renders them as intake would. A rendered number
some case already has (a tenant that changed its patterns) is taken again one at a
time by intake's own function, which skips taken numbers.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from sqlalchemy import Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, NumberCounter
from closeloop.cases.numbering import CaseNumbering, take_number
from closeloop.db import bound_tenant, new_id

__all__ = ["NumberBook"]

_COUNTERS: Table = NumberCounter.__table__  # type: ignore[assignment]


class NumberBook:
    def __init__(self, session: AsyncSession, zone: zoneinfo.ZoneInfo) -> None:
        tenant_id = bound_tenant(session)
        assert tenant_id is not None, "NumberBook needs a tenant-bound session"
        self.session = session
        self.zone = zone
        self.tenant_id = tenant_id

    async def take(self, wanted: list[tuple[CaseNumbering, dt.datetime]]) -> list[str]:
        """One new number per (numbering, received time), in the given order."""
        days = [at.astimezone(self.zone).date() for _, at in wanted]
        scopes: dict[str, list[int]] = {}
        for index, ((numbering, _), day) in enumerate(zip(wanted, days, strict=True)):
            scopes.setdefault(numbering.scope(day), []).append(index)
        out = [""] * len(wanted)
        for scope, indexes in scopes.items():
            count = len(indexes)
            last = await self.session.scalar(
                insert(_COUNTERS)
                .values(
                    tenant_id=self.tenant_id,
                    id=new_id(),
                    scope=scope,
                    value=count,
                    created_at=func.now(),
                )
                .on_conflict_do_update(
                    index_elements=[_COUNTERS.c.tenant_id, _COUNTERS.c.scope],
                    set_={"value": _COUNTERS.c.value + count},
                )
                .returning(_COUNTERS.c.value)
            )
            assert last is not None
            for offset, index in enumerate(indexes):
                out[index] = wanted[index][0].render(days[index], int(last) - count + 1 + offset)
        if out:
            taken = set(await self.session.scalars(select(Case.number).where(Case.number.in_(out))))
            for index, number in enumerate(out):
                if number in taken:
                    out[index] = await take_number(
                        self.session,
                        tenant_id=self.tenant_id,
                        numbering=wanted[index][0],
                        day=days[index],
                    )
        return out
