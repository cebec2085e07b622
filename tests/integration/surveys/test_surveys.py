"""The satisfaction survey: resolving a case sends a single-use link in the customer's
language; the answer is the case's first satisfaction, on its timeline, exactly as the
`feedback` action records it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import uuid

from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from survey_support import (
    RESOLUTION,
    act,
    path_of,
    resolved_case,
    survey_link,
    survey_notifications,
    surveys_of,
)

from closeloop.db import sessionmaker, transaction
from closeloop.notify.models import Notification
from closeloop.settings import Settings
from closeloop.surveys.models import Survey
from closeloop.web.app import create_app
from support import Client, TenantHandle, fields_of

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


async def _emails(engine: AsyncEngine, tenant: TenantHandle, case_id: str) -> list[Notification]:
    made = await survey_notifications(engine, tenant.id, case_id)
    return [n for n in made if n.channel == "email"]


async def _case(client: Client, tenant: TenantHandle, case_id: str) -> dict[str, object]:
    response = await client.get(f"/api/v1/cases/{case_id}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def _timeline(client: Client, tenant: TenantHandle, case_id: str) -> list[dict[str, object]]:
    response = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, object]] = response.json()["items"]
    return events


async def test_resolving_sends_a_survey_whose_link_works_once(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case = await resolved_case(client, tenant, locale="zh-CN")

    # One survey row, only the token's hash stored; one e-mail carrying the link.
    url, token = await survey_link(app_engine, tenant.id, case.id)
    assert url == f"https://support.example.com/public/surveys/{token}"
    [survey] = await surveys_of(app_engine, tenant.id, case.id)
    assert (survey.cycle, survey.locale, survey.answered_at) == (1, "zh-CN", None)
    assert survey.token_hash == hashlib.sha256(token.encode()).digest()
    assert dt.timedelta(days=13) < survey.expires_at - survey.sent_at <= dt.timedelta(days=14)
    [email] = await _emails(app_engine, tenant, case.id)
    assert (email.status, email.locale, email.recipient_kind) == ("pending", "zh-CN", "customer")
    assert case.number in email.subject
    assert "请评价" in email.subject

    page = await client.get(path_of(token), headers=JSON)
    assert page.status_code == 200, page.text
    shown = page.json()
    assert shown["locale"] == "zh-CN"
    assert shown["case_number"] == case.number
    assert "满意吗" in shown["question"]
    assert [(s["code"], s["label"], s["satisfied"]) for s in shown["scale"]] == [
        ("satisfied", "满意", True),
        ("basically_satisfied", "基本满意", True),
        ("unsatisfied", "不满意", False),
    ]
    assert shown["answered"] is False

    answered = await client.post(path_of(token), json={"answer": "satisfied"})
    assert answered.status_code == 200, answered.text
    assert answered.json() == {
        "answer": "satisfied",
        "satisfied": True,
        "message": "感谢您的评价！",
        "locale": "zh-CN",
    }

    state = await _case(client, tenant, case.id)
    assert (state["status"], state["first_satisfaction"]) == ("feedback_received", "satisfied")
    feedback = (await _timeline(client, tenant, case.id))[-1]
    assert (feedback["type"], feedback["actor"]) == ("feedback", "customer:survey")
    assert (feedback["from_status"], feedback["to_status"]) == ("resolved", "feedback_received")
    assert feedback["data"] == {"satisfaction": "satisfied", "satisfied": True}

    again = await client.post(path_of(token), json={"answer": "unsatisfied", "reason": "x"})
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "survey_already_answered"
    assert (await _case(client, tenant, case.id))["first_satisfaction"] == "satisfied"
    reread = await client.get(path_of(token), headers=JSON)
    assert (reread.json()["answered"], reread.json()["answer"]) == (True, "satisfied")


async def test_an_english_customer_answers_on_the_html_page(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case = await resolved_case(client, tenant, locale="en")
    _, token = await survey_link(app_engine, tenant.id, case.id)
    [email] = await _emails(app_engine, tenant, case.id)
    assert email.locale == "en"
    assert email.subject.startswith("[")

    page = await client.get(path_of(token), headers=HTML)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="en">' in html
    assert 'method="post"' in html
    assert "<script" not in html
    for code, label in (("satisfied", "Satisfied"), ("unsatisfied", "Unsatisfied")):
        assert f'value="{code}"' in html
        assert label in html
    assert case.number in html

    # Unsatisfied without a reason: the form again, the choice kept, nothing recorded.
    again = await client.post(
        path_of(token), headers=HTML, data={"answer": "unsatisfied", "reason": "  "}
    )
    assert again.status_code == 422, again.text
    assert 'value="unsatisfied" checked' in again.text
    assert "tell us why" in again.text
    assert (await _case(client, tenant, case.id))["status"] == "resolved"

    # The form as a browser posts it; the reason box left empty for a satisfied answer.
    posted = await client.post(
        path_of(token), headers=HTML, data={"answer": "basically_satisfied", "reason": ""}
    )
    assert posted.status_code == 200, posted.text
    assert "Thank you for your answer!" in posted.text
    state = await _case(client, tenant, case.id)
    assert (state["status"], state["first_satisfaction"]) == (
        "feedback_received",
        "basically_satisfied",
    )

    twice = await client.post(path_of(token), headers=HTML, data={"answer": "satisfied"})
    assert twice.status_code == 409
    assert "already answered" in twice.text
    # The same survey read in Chinese on request.
    chinese = await client.get(path_of(token), headers=JSON, params={"lang": "zh-CN"})
    assert chinese.json()["scale"][0]["label"] == "满意"


async def test_unsatisfied_needs_a_reason_reopens_escalated_and_a_new_resolution_asks_again(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case = await resolved_case(client, tenant)
    _, token = await survey_link(app_engine, tenant.id, case.id)

    refused = await client.post(path_of(token), json={"answer": "unsatisfied"})
    assert refused.status_code == 422, refused.text
    assert fields_of(refused.json()["error"]) == ["reason"]
    unknown = await client.post(path_of(token), json={"answer": "delighted"})
    assert unknown.status_code == 422
    assert fields_of(unknown.json()["error"]) == ["answer"]
    malformed = await client.post(path_of(token), json={"answer": 5})
    assert malformed.status_code == 400
    assert fields_of(malformed.json()["error"])[0] == "answer"
    assert (await surveys_of(app_engine, tenant.id, case.id))[0].answered_at is None

    answered = await client.post(
        path_of(token), json={"answer": "unsatisfied", "reason": "包装破损没有处理"}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["satisfied"] is False
    state = await _case(client, tenant, case.id)
    assert state["status"] == "reopened"
    assert (state["escalation_level"], state["severity"]) == (1, "urgent")
    assert state["first_satisfaction"] == "unsatisfied"
    feedback = (await _timeline(client, tenant, case.id))[-1]
    assert feedback["actor"] == "customer:survey"
    assert feedback["data"]["reason"] == "包装破损没有处理"  # type: ignore[index]
    [survey] = await surveys_of(app_engine, tenant.id, case.id)
    assert (survey.answer, survey.reason) == ("unsatisfied", "包装破损没有处理")

    # Handled again and resolved: a second survey (cycle 2) with a new link.
    await act(
        client,
        tenant.headers,
        case.id,
        "assign",
        {"lead_department_id": case.department_id, "handler_id": str(case.handler_id)},
    )
    await act(client, case.handler, case.id, "start")
    await act(client, case.handler, case.id, "resolve", RESOLUTION)
    _, second = await survey_link(app_engine, tenant.id, case.id)
    assert second != token
    assert [s.cycle for s in await surveys_of(app_engine, tenant.id, case.id)] == [1, 2]
    assert (await client.post(path_of(token), json={"answer": "satisfied"})).status_code == 409
    answered = await client.post(path_of(second), json={"answer": "satisfied"})
    assert answered.status_code == 200, answered.text
    assert (await _case(client, tenant, case.id))["first_satisfaction"] == "satisfied"


async def test_a_case_not_waiting_for_an_answer_says_so(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case = await resolved_case(client, tenant, locale="en")
    _, token = await survey_link(app_engine, tenant.id, case.id)
    # An agent took the customer's answer on the phone before the link was used.
    await act(client, tenant.headers, case.id, "feedback", {"satisfaction": "satisfied"})

    response = await client.post(path_of(token), json={"answer": "unsatisfied", "reason": "x"})
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "survey_not_awaited"
    assert error["details"] == {"status": "feedback_received"}
    assert "not waiting for your answer" in error["message"]
    assert (await _case(client, tenant, case.id))["first_satisfaction"] == "satisfied"


async def test_an_expired_link_is_gone(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case = await resolved_case(client, tenant)
    _, token = await survey_link(app_engine, tenant.id, case.id)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await session.execute(
            update(Survey)
            .where(Survey.case_id == uuid.UUID(case.id))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )

    for response in (
        await client.get(path_of(token), headers=JSON),
        await client.post(path_of(token), json={"answer": "satisfied"}),
    ):
        assert response.status_code == 410, response.text
        assert response.json()["error"]["code"] == "survey_expired"
    page = await client.get(path_of(token), headers=HTML)
    assert page.status_code == 410
    assert "已过期" in page.text
    assert (await _case(client, tenant, case.id))["status"] == "resolved"


async def test_a_wrong_or_foreign_token_is_404(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case = await resolved_case(client, tenant)
    _, token = await survey_link(app_engine, tenant.id, case.id)
    secret = token[32:]
    wrong = [
        "nothing-like-a-token",
        token[:-1],
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        uuid.uuid4().hex + secret,  # a tenant that does not exist
        other_tenant.id.hex + secret,  # A's secret under tenant B's name
    ]
    for candidate in wrong:
        for response in (
            await client.get(path_of(candidate), headers=JSON),
            await client.post(path_of(candidate), json={"answer": "satisfied"}),
        ):
            assert response.status_code == 404, (candidate, response.text)
            assert response.json()["error"]["code"] == "not_found"
    html = await client.get(path_of(wrong[-1]), headers=HTML)
    assert html.status_code == 404
    assert "找不到此页面" in html.text

    # B's own survey link does not reach A's case, and A's case is untouched.
    other_case = await resolved_case(client, other_tenant)
    _, other_token = await survey_link(app_engine, other_tenant.id, other_case.id)
    other = await client.post(path_of(other_token), json={"answer": "satisfied"})
    assert other.status_code == 200, other.text
    assert (await _case(client, tenant, case.id))["status"] == "resolved"
    assert (await client.post(path_of(token), json={"answer": "satisfied"})).status_code == 200


async def test_the_survey_pages_are_rate_limited(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    case = await resolved_case(client, tenant)
    _, token = await survey_link(app_engine, tenant.id, case.id)
    strict = create_app(dataclasses.replace(settings, public_intake_per_minute=2))
    async with AsyncTestClient(app=strict) as limited:
        assert (await limited.get(path_of(token), headers=JSON)).status_code == 200
        assert (await limited.get(path_of("x" * 75), headers=JSON)).status_code == 404
        response = await limited.post(path_of(token), json={"answer": "satisfied"})
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert (await _case(client, tenant, case.id))["status"] == "resolved"
