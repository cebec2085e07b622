"""`GET`/`POST /public/surveys/{token}`: the satisfaction survey a customer got by link.

No login and no tenant in the path: the token names its tenant (see
`closeloop.surveys.tokens`). JSON by default; a client that prefers `text/html` (a
browser) gets a small server-rendered page whose form posts back here
(`application/x-www-form-urlencoded`, no JavaScript). A JSON client posts
`{"answer": code, "reason"?: text}`.

Answers: 200; 404 for an unknown, malformed or foreign token (always the same); 409
`survey_already_answered` for a second answer; 410 `survey_expired`; 409
`survey_not_awaited` when the case takes no feedback now; 422 naming `answer` or
`reason`; 429 past `CLOSELOOP_PUBLIC_INTAKE_PER_MINUTE` requests per client address
and minute (every request counts, answers and page views alike).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.db import utcnow
from closeloop.errors import ApiError, TooManyRequests
from closeloop.identity.access import public
from closeloop.providers import AppSettings
from closeloop.public.ratelimit import app_limiter
from closeloop.settings import Settings
from closeloop.surveys import pages
from closeloop.surveys.answering import answer_survey, check_not_expired, open_survey, survey_view
from closeloop.surveys.schemas import SurveyAnswer, SurveyRead
from closeloop.web.deps import DbSession

__all__ = ["PublicSurveyController"]

Lang = Annotated[
    Literal["zh-CN", "en"] | None,
    QueryParameter(description="show the survey in this language, not the customer's"),
]
_FIELD = re.compile(r"`\$\.([A-Za-z_]+)`|field `([A-Za-z_]+)`")
_PAGE_MESSAGES = {
    "survey_already_answered": "already_answered",
    "survey_expired": "expired",
    "survey_not_awaited": "not_awaiting",
    "rate_limited": "rate_limited",
    "not_found": "not_found",
}
_DOC = """\
Answers 404 for any unknown or malformed token, 410 `survey_expired` for an expired or
superseded survey, 429 `rate_limited` past the per-address limit. Send `Accept: text/html`
for the HTML page."""


def _throttle(request: Request[Any, Any, Any], settings: Settings) -> None:
    client = request.client.host if request.client else "unknown"
    wait = app_limiter(
        request.app.state, "public_survey_limiter", settings.public_intake_per_minute
    ).hit(("survey", client))
    if wait is not None:
        raise TooManyRequests(
            "too many requests from this address; try again in a minute",
            code="rate_limited",
            details={"retry_after_seconds": math.ceil(wait)},
        )


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    return request.accept.best_match(["application/json", "text/html"]) == "text/html"


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, status_code=status, media_type=MediaType.HTML)


def _error_page(error: ApiError, locale: str) -> Response[str]:
    key = _PAGE_MESSAGES.get(error.code)
    message = pages.text(locale, key) if key else error.message
    return _html(pages.render_page(locale, message=message), error.status_code)


def _form_page(
    view: SurveyRead, *, message: str | None = None, answer: SurveyAnswer | None = None
) -> str:
    return pages.render_page(
        view.locale,
        tenant=view.tenant_name,
        message=message,
        question=view.question,
        scale=[msgspec.structs.asdict(item) for item in view.scale],
        chosen=answer.answer if answer else None,
        reason=answer.reason if answer else None,
    )


def _invalid(field: str | None, message: str) -> ApiError:
    where = f"`{field}`" if field else "the request body"
    return ApiError(
        f"invalid {where}: {message}",
        code="invalid_request",
        details={"fields": [{"field": field, "message": message}]},
    )


async def _posted(request: Request[Any, Any, Any]) -> tuple[SurveyAnswer | None, bool]:
    """The posted answer (None: the form chose nothing) and whether it came from the form."""
    if request.content_type[0] in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        answer, reason = form.get("answer"), form.get("reason")
        if not isinstance(answer, str) or not answer:
            return None, True
        reason = reason.strip() if isinstance(reason, str) else None
        return SurveyAnswer(answer=answer[:32], reason=(reason or None) and reason[:4000]), True
    try:
        return msgspec.json.decode(await request.body(), type=SurveyAnswer), False
    except msgspec.ValidationError as exc:
        match = _FIELD.search(str(exc))
        raise _invalid((match.group(1) or match.group(2)) if match else None, str(exc)) from None
    except msgspec.DecodeError as exc:
        raise ApiError(
            f"the request body is not valid JSON: {exc}", code="malformed_json"
        ) from None


class PublicSurveyController(Controller):
    path = "/public/surveys"
    tags = ("public",)
    opt = public("a customer answers the survey the link in their message opens")

    @get("/{token:str}", media_type=MediaType.JSON, description=_DOC)
    async def show_survey(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        token: FromPath[str],
        lang: Lang = None,
    ) -> Response[Any]:
        """The survey's question and the tenant's satisfaction scale in the customer's
        language (`SurveyRead`), or the HTML page with the form."""
        html = _wants_html(request)
        locale: str = lang or "zh-CN"
        try:
            _throttle(request, settings)
            found = await open_survey(db_session, token)
            locale = lang or found.survey.locale
            check_not_expired(found, locale, utcnow())
            view = await survey_view(db_session, found, locale)
        except ApiError as error:
            if html:
                return _error_page(error, locale)
            raise
        if not html:
            return Response(view, media_type=MediaType.JSON)
        if view.answered:
            message = pages.text(locale, "already_answered")
            return _html(pages.render_page(locale, tenant=view.tenant_name, message=message))
        return _html(_form_page(view))

    @post("/{token:str}", status_code=200, media_type=MediaType.JSON, description=_DOC)
    async def submit_answer(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        token: FromPath[str],
        lang: Lang = None,
    ) -> Response[Any]:
        """Answer once: `{"answer": code, "reason"?: text}` (`SurveyAnswered`), or the HTML
        form. The answer becomes the case's first satisfaction through the lifecycle's
        `feedback` (actor `customer:survey`): an unsatisfied one needs a reason and
        reopens the case, escalated. 409 `survey_already_answered` the second time,
        409 `survey_not_awaited` when the case takes no feedback now."""
        html = _wants_html(request)
        answer: SurveyAnswer | None = None
        try:
            _throttle(request, settings)
            answer, from_form = await _posted(request)
            html = html or from_form
            if answer is None:
                raise _invalid("answer", "choose an answer")
            answered = await answer_survey(db_session, token, answer, lang, settings=settings)
        except ApiError as error:
            if not html:
                raise
            await db_session.rollback()  # nothing of a refused answer is kept
            return await _refused_page(db_session, token, error, lang, answer)
        if html:
            return _html(pages.render_page(answered.locale, message=answered.message))
        return Response(answered, media_type=MediaType.JSON)


async def _refused_page(
    session: AsyncSession,
    token: str,
    error: ApiError,
    lang: str | None,
    answer: SurveyAnswer | None,
) -> Response[str]:
    """After a refused form post: the form again with what was entered (a 422), else the
    error's page."""
    try:
        found = await open_survey(session, token)
    except ApiError:
        return _error_page(error, lang or "zh-CN")
    locale = lang or found.survey.locale
    if error.status_code not in (400, 422):
        return _error_page(error, locale)
    view = await survey_view(session, found, locale)
    body = _form_page(view, message=pages.text(locale, "invalid"), answer=answer)
    return _html(body, error.status_code)
