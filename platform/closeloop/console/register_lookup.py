"""The customer lookup of the register form: who the phone or e-mail typed belongs to,
found exactly as intake will find them, and whether this case would be a repeat."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.intake import find_repeats
from closeloop.cases.models import Case
from closeloop.config import current
from closeloop.customers.schemas import CustomerRead
from closeloop.customers.service import CustomerService

__all__ = ["RECENT_CASES", "CustomerLookup", "look_up_customer"]

RECENT_CASES = 5
_DEFAULT_REPEAT_WINDOW_DAYS = 30  # intake's own default without a profile


@dataclasses.dataclass(frozen=True, slots=True)
class CustomerLookup:
    """`customer` as the viewer may see it (None: nobody has this phone or e-mail yet),
    their latest cases, and the earlier cases that would make this one a repeat."""

    looked_up: bool
    customer: CustomerRead | None = None
    recent: Sequence[Case] = ()
    repeat_of: Sequence[uuid.UUID] = ()
    window_days: int = 0


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


async def look_up_customer(
    session: AsyncSession, customers: CustomerService, *, phone: str, email: str, category: str
) -> CustomerLookup:
    """The phone first, then the e-mail (intake's order), each an exact match through
    the keyed hash; the customer shown through `CustomerService.view` (masked without
    `pii`, an unmasked read audited)."""
    found = None
    for kind, value in (("phone", phone), ("email", email)):
        if value.strip() and found is None:
            matches = await customers.find_by_contact(**{kind: value})
            found = matches[0] if matches else None
    looked_up = bool(phone.strip() or email.strip())
    if found is None:
        return CustomerLookup(looked_up)
    recent = (
        await session.scalars(
            select(Case)
            .where(Case.customer_id == found.id)
            .order_by(Case.received_at.desc(), Case.id)
            .limit(RECENT_CASES)
        )
    ).all()
    profile = await current.profile(session)
    window_days = profile.repeat_window_days if profile else _DEFAULT_REPEAT_WINDOW_DAYS
    repeat_of = await find_repeats(
        session,
        customer_id=found.id,
        category_id=_uuid(category) if category else None,
        received_at=dt.datetime.now(dt.UTC),
        window_days=window_days,
    )
    return CustomerLookup(looked_up, await customers.view(found), recent, repeat_of, window_days)
