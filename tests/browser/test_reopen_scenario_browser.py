"""The customer's unsatisfied answer, seen live: a resolved case's survey is answered
"unsatisfied" by the customer in their own browser; the case reopens escalated, and the
supervisor's queue and the open case page, both left open, show it without a reload.
Then the case page's `?` overlay lists the page's own keys."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from test_console_browser import sign_in

from closeloop.db import sessionmaker, transaction
from closeloop.notify.models import Notification
from support import PASSWORD, TenantHandle, bearer, login

# The queue polls every 5 s, the case page every 10 s: room for a few polls.
LIVE_MS = 30_000
SURVEY_LINK = re.compile(r"/public/surveys/([A-Za-z0-9_-]+)")


async def _staff(api: httpx.AsyncClient, tenant: TenantHandle, role: str) -> tuple[str, str]:
    """A user of `role`: their id and e-mail."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    made = await api.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": email, "password": PASSWORD, "roles": [role]},
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"]), email


async def _act(
    api: httpx.AsyncClient, headers: dict[str, str], case_id: str, action: str, **body: Any
) -> None:
    response = await api.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body
    )
    assert response.status_code == 200, f"{action}: {response.text}"


async def _resolved_case(api: httpx.AsyncClient, tenant: TenantHandle) -> dict[str, Any]:
    """A complaint by e-mail, verified, assigned, worked on and resolved through the API
    (the browser's part of those steps is test_case_page_browser.py)."""
    department = await api.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": f"d-{uuid.uuid4().hex[:6]}", "name_zh": "售后物流组", "name_en": "Parcels"},
    )
    assert department.status_code == 201, department.text
    handler_id, handler_email = await _staff(api, tenant, "handler")
    created = await api.post(
        "/api/v1/cases/",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "email",
            "title": "退款两周未到账",
            "description": "订单 A2002 退货后承诺三天退款,两周了还没到账。",
            "customer": {"nickname": "周女士", "email": f"zhou-{uuid.uuid4().hex[:6]}@example.com"},
        },
    )
    assert created.status_code == 201, created.text
    case: dict[str, Any] = created.json()
    await _act(api, tenant.headers, case["id"], "verify", valid=True)
    await _act(
        api,
        tenant.headers,
        case["id"],
        "assign",
        lead_department_id=department.json()["id"],
        handler_id=handler_id,
    )
    handler = bearer(await login(api, tenant.slug, handler_email))  # type: ignore[arg-type]
    await _act(api, handler, case["id"], "start")
    await _act(api, handler, case["id"], "progress", note="已催财务处理。", visibility="customer")
    await _act(
        api,
        handler,
        case["id"],
        "resolve",
        root_cause="财务批量退款延迟",
        responsible_party="internal",
        solution_type="refund",
        result="已加急退款",
    )
    return case


async def _survey_path(owner_engine: AsyncEngine, tenant: TenantHandle, case_id: str) -> str:
    """The survey link of the e-mail that resolving the case made for the customer."""
    async with transaction(sessionmaker(owner_engine), tenant.id) as session:
        bodies = (
            await session.scalars(
                select(Notification.body).where(
                    Notification.case_id == uuid.UUID(case_id),
                    Notification.event == "satisfaction_survey",
                    Notification.channel == "email",
                )
            )
        ).all()
    links = [found for body in bodies if (found := SURVEY_LINK.search(body or ""))]
    assert links, f"no survey e-mail for the case: {bodies}"
    return f"/public/surveys/{links[-1].group(1)}"


async def _signed_in(new_context: NewContext, tenant: TenantHandle, email: str, path: str) -> Page:
    page = await (await new_context()).new_page()
    await page.goto(path)
    await sign_in(page, tenant.slug, email)
    await expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    return page


def _row(page: Page, number: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=number, exact=True))


async def test_an_unsatisfied_answer_reopens_the_case_live_in_queue_and_case_page(
    new_context: NewContext,
    api: httpx.AsyncClient,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    _, supervisor_email = await _staff(api, tenant, "supervisor")
    case = await _resolved_case(api, tenant)
    case_path = f"/console/cases/{case['id']}"

    # The supervisor has the queue open in one window and the case in another.
    queue = await _signed_in(new_context, tenant, supervisor_email, "/console/queues/all")
    queue_problems = Problems(queue)
    await expect(_row(queue, case["number"])).to_contain_text("已解决")
    await expect(_row(queue, case["number"]).locator(".escalated")).to_have_count(0)
    case_page = await _signed_in(new_context, tenant, supervisor_email, case_path)
    case_problems = Problems(case_page)
    status = case_page.locator("[data-status]")
    await expect(status).to_have_attribute("data-status", "resolved")
    await expect(case_page).to_have_title(f"{case['number']} · Closeloop")
    await expect(case_page.get_by_text("已升级", exact=False)).to_have_count(0)
    for page in (queue, case_page):
        await page.evaluate("() => { window.closeloopNotReloaded = true; }")

    # The customer answers the survey from the link in their e-mail: unsatisfied.
    customer = await (await new_context()).new_page()
    await customer.goto(await _survey_path(owner_engine, tenant, case["id"]))
    await customer.get_by_label("不满意", exact=True).check()
    await customer.get_by_role("textbox").fill("钱还是没有到账,请尽快处理。")
    await customer.get_by_role("button", name="提交评价").click()
    await expect(customer.get_by_text("我们会尽快重新处理")).to_be_visible()

    # The queue shows it reopened and escalated, without a reload.
    row = _row(queue, case["number"])
    await expect(row).to_contain_text("已重开", timeout=LIVE_MS)
    await expect(row.locator(".escalated")).to_contain_text("升级 1 级")
    assert await queue.evaluate("() => window.closeloopNotReloaded === true")
    await assert_accessible(queue)
    await screenshot(queue, "reopened-queue-zh-CN", ARTIFACTS)

    # So does the open case page: its status line, and a notice that the case changed.
    await expect(status).to_have_attribute("data-status", "reopened", timeout=LIVE_MS)
    facts = case_page.get_by_role("list", name="案件概要")
    await expect(facts).to_contain_text("已重开")
    await expect(facts).to_contain_text("已升级 1")
    await expect(case_page.get_by_role("status")).to_contain_text("此案件在页面打开后有了变化")
    assert await case_page.evaluate("() => window.closeloopNotReloaded === true")
    await assert_accessible(case_page)
    await screenshot(case_page, "reopened-case-live-zh-CN", ARTIFACTS)

    # The `?` overlay lists the case page's own keys: each action offered, and print.
    await case_page.reload()
    await case_page.locator("body").click(position={"x": 5, "y": 5})
    await case_page.keyboard.press("?")
    dialog = case_page.get_by_role("dialog", name="键盘快捷键")
    await expect(dialog).to_be_visible()
    listed = await dialog.evaluate(
        """box => Array.from(box.querySelectorAll("dt")).map(
            dt => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()])"""
    )
    offered = await case_page.evaluate(
        """() => Array.from(document.querySelectorAll("details[data-key]")).map(d =>
            [d.dataset.key, d.querySelector("summary").firstChild.textContent.trim()])"""
    )
    assert offered, "no action with a key is offered on the reopened case"
    for key, label in offered:
        assert [key, label] in listed, f"{key} ({label}) is not in the overlay: {listed}"
    assert ["P", "打印视图"] in listed
    await assert_accessible(case_page)
    await screenshot(case_page, "case-shortcuts-zh-CN", ARTIFACTS)
    await case_page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    # A listed key does what the overlay says: P opens the print view.
    await case_page.keyboard.press("Shift+P")
    await expect(case_page).to_have_url(re.compile(re.escape(case_path) + "/print$"))

    assert queue_problems.seen == []
    assert case_problems.seen == []
