"""Answering satisfaction surveys through the link (`/public/surveys/{token}`).

* `open_survey()` binds the tenant named in the token and finds the survey by the
  token's hash; every miss is the same 404.
* `answer_survey()`: single use (row lock; a second answer is 409
  `survey_already_answered`), 410 `survey_expired` after `expires_at` or once a newer
  survey of the case was sent, 409 `survey_not_awaited` while the case's status takes
  no feedback (feedback already given another way, reopened, closed);
  the answer is recorded by the lifecycle's `feedback` action, acted by
  `customer:survey`, so an unsatisfied answer reopens the case escalated exactly as
  staff feedback does.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.action_schemas import Feedback
from closeloop.cases.deps import provide_case_actions
from closeloop.cases.lifecycle import Action, allowed_actions
from closeloop.cases.models import Case
from closeloop.config.current import satisfaction_level, satisfaction_scale
from closeloop.db import tenant_scope, utcnow
from closeloop.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.surveys import pages
from closeloop.surveys.models import Survey
from closeloop.surveys.schemas import ScaleItem, SurveyAnswer, SurveyAnswered, SurveyRead
from closeloop.surveys.tokens import hash_token, tenant_of_token
from closeloop.tenancy.models import Tenant, TenantStatus

__all__ = [
    "SURVEY_ACTOR",
    "Gone",
    "OpenSurvey",
    "SurveyCustomer",
    "answer_survey",
    "check_not_expired",
    "check_open",
    "open_survey",
    "survey_view",
]

SURVEY_ACTOR = "customer:survey"


class Gone(ApiError, status=410, code="gone"): ...


@dataclasses.dataclass(frozen=True, slots=True)
class SurveyCustomer(Principal):
    """The customer answering a survey: a principal that only ever gives feedback."""

    @property
    def actor(self) -> str:
        return SURVEY_ACTOR


def _survey_principal(tenant_id: uuid.UUID) -> SurveyCustomer:
    # The feedback rule admits the follow-up role; the principal is used for nothing else.
    return SurveyCustomer(
        tenant_id=tenant_id, roles=frozenset({Role.FOLLOWUP.value}), permissions=frozenset()
    )


@dataclasses.dataclass
class OpenSurvey:
    """A survey found by its token, with its case and tenant (the session is bound)."""

    survey: Survey
    case: Case
    tenant: Tenant


async def open_survey(session: AsyncSession, token: str, *, lock: bool = False) -> OpenSurvey:
    """Bind the tenant the token names and find its survey; 404 for any miss."""
    missing = NotFound("no such survey")
    tenant_id = tenant_of_token(token)
    if tenant_id is None:
        raise missing
    tenant = await session.get(Tenant, tenant_id)
    if tenant is None or tenant.status != TenantStatus.ACTIVE:
        raise missing
    await tenant_scope(session, tenant.id)
    query = select(Survey).where(Survey.token_hash == hash_token(token))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    survey = await session.scalar(query)
    if survey is None:
        raise missing
    case = await session.scalar(select(Case).where(Case.id == survey.case_id))
    if case is None:
        raise missing
    return OpenSurvey(survey=survey, case=case, tenant=tenant)


def _label(level: dict[str, Any], locale: str) -> str:
    first, second = ("name_en", "name_zh") if locale == "en" else ("name_zh", "name_en")
    return str(level.get(first) or level.get(second) or level.get("code"))


async def survey_view(session: AsyncSession, found: OpenSurvey, locale: str) -> SurveyRead:
    survey, case = found.survey, found.case
    scale = await satisfaction_scale(session)
    return SurveyRead(
        locale=locale,
        tenant_name=found.tenant.name,
        case_number=case.number,
        case_title=case.title,
        question=pages.text(
            locale, "question", tenant=found.tenant.name, number=case.number, title=case.title
        ),
        scale=[
            ScaleItem(
                code=str(level["code"]),
                label=_label(level, locale),
                satisfied=bool(level.get("satisfied")),
            )
            for level in scale
        ],
        reason_label=pages.text(locale, "reason"),
        expires_at=survey.expires_at,
        answered=survey.answered_at is not None,
        answer=survey.answer,
        answered_at=survey.answered_at,
    )


def check_not_expired(found: OpenSurvey, locale: str, now: dt.datetime) -> None:
    """410 for an unanswered survey past its `expires_at` (or superseded by a newer one)."""
    if found.survey.answered_at is None and found.survey.expires_at <= now:
        raise Gone(pages.text(locale, "expired"), code="survey_expired")


def check_open(found: OpenSurvey, locale: str, now: dt.datetime) -> None:
    """Refuse an answer to a survey that cannot take one (409 or 410)."""
    survey, case = found.survey, found.case
    if survey.answered_at is not None:
        raise Conflict(
            pages.text(locale, "already_answered"),
            code="survey_already_answered",
            details={"answered_at": survey.answered_at.isoformat()},
        )
    check_not_expired(found, locale, now)
    if Action.FEEDBACK.value not in allowed_actions(case):
        raise Conflict(
            f"{pages.text(locale, 'not_awaiting')} (the case is {case.status}; "
            "only a resolved case takes a satisfaction answer)",
            code="survey_not_awaited",
            details={"status": case.status},
        )


async def answer_survey(
    session: AsyncSession,
    token: str,
    data: SurveyAnswer,
    locale: str | None = None,
    *,
    settings: Settings,
) -> SurveyAnswered:
    """Record the customer's answer as the case's feedback; see the module docstring."""
    found = await open_survey(session, token, lock=True)
    survey = found.survey
    locale = locale or survey.locale
    now = utcnow()
    check_open(found, locale, now)
    level, codes = await satisfaction_level(session, data.answer)
    if level is None:
        raise UnprocessableEntity(
            f"{pages.text(locale, 'invalid')} ({data.answer!r} is not one of {', '.join(codes)})",
            field="answer",
            details={"allowed": codes},
        )
    satisfied = bool(level.get("satisfied"))
    reason = data.reason.strip() if data.reason and data.reason.strip() else None
    if not satisfied and reason is None:
        raise UnprocessableEntity(pages.text(locale, "invalid"), field="reason")
    # Marked before the action runs, in the same transaction (a refusal rolls it back).
    survey.answered_at, survey.answer, survey.reason = now, data.answer, reason
    await session.flush()
    actions = provide_case_actions(session, _survey_principal(found.tenant.id), settings)
    await actions.apply(
        found.case.id, Action.FEEDBACK, Feedback(satisfaction=data.answer, reason=reason)
    )
    return SurveyAnswered(
        answer=data.answer,
        satisfied=satisfied,
        message=pages.text(locale, "thanks" if satisfied else "thanks_unsatisfied"),
        locale=locale,
    )
