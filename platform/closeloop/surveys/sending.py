"""Sending satisfaction surveys: when a case is resolved, in the resolving transaction.

`send_survey()` withdraws the case's earlier unanswered surveys, stores a new one (only
the hash of its token) in the customer's language, and sends the link with
`notify_customer(..., event="satisfaction_survey")`. `withdraw_surveys()` ends the
unanswered ones (their links answer 410).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, Customer
from closeloop.db import new_id, required_tenant, utcnow
from closeloop.notify import events
from closeloop.notify.service import notify_customer
from closeloop.settings import Settings
from closeloop.surveys.links import survey_url
from closeloop.surveys.models import Survey
from closeloop.surveys.tokens import hash_token, new_token
from closeloop.tenancy.models import Tenant

__all__ = ["send_survey", "withdraw_surveys"]


async def _customer_locale(session: AsyncSession, case: Case, tenant: Tenant) -> str:
    customer = (
        await session.scalar(select(Customer).where(Customer.id == case.customer_id))
        if case.customer_id is not None
        else None
    )
    tenant_locale = events.locale_of(tenant.locale)
    return events.locale_of(customer.locale if customer else None, default=tenant_locale)


async def withdraw_surveys(session: AsyncSession, case_id: uuid.UUID, *, at: dt.datetime) -> None:
    """End the case's unanswered surveys now: their links answer 410 from here on."""
    await session.execute(
        update(Survey)
        .where(Survey.case_id == case_id, Survey.answered_at.is_(None), Survey.expires_at > at)
        .values(expires_at=at)
        .execution_options(synchronize_session=False)
    )


async def send_survey(
    session: AsyncSession, case: Case, *, settings: Settings, now: dt.datetime | None = None
) -> Survey:
    """A new survey for `case` (just resolved), its link sent to the customer; the link
    and its lifetime come from `settings` (`public_url`, `survey_ttl_days`)."""
    tenant_id = required_tenant(session, "send_survey")
    now = now or utcnow()
    await withdraw_surveys(session, case.id, at=now)
    last = await session.scalar(select(func.max(Survey.cycle)).where(Survey.case_id == case.id))
    tenant = await session.get(Tenant, tenant_id)
    assert tenant is not None
    token = new_token(tenant_id)
    survey = Survey(
        tenant_id=tenant_id,
        id=new_id(),
        case_id=case.id,
        token_hash=hash_token(token),
        locale=await _customer_locale(session, case, tenant),
        cycle=(last or 0) + 1,
        sent_at=now,
        expires_at=now + dt.timedelta(days=settings.survey_ttl_days),
    )
    session.add(survey)
    await session.flush()
    await notify_customer(
        session,
        case=case,
        event=events.SATISFACTION_SURVEY,
        context={"survey_url": survey_url(settings, token)},
    )
    return survey
