"""The queues, the supervisor board and the inbox in a real Chromium: clocks that tick,
a queue that follows changes made elsewhere without a reload, the keyboard, the live
unread count; each screen checked with axe-core and kept as zh-CN and en screenshots."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import Page, Response, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from test_console_browser import sign_in

from closeloop.db import new_id, sessionmaker, transaction, utcnow
from closeloop.notify.models import Notification
from support import TenantHandle

# Long enough for a few live polls (every 5 s).
LIVE_MS = 20_000


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


async def new_case(
    api: httpx.AsyncClient, tenant: TenantHandle, **overrides: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误一周",
        "description": "订单 A1001 承诺三天送达,实际一周后才到。",
        "customer": {"nickname": "小王", "name": "王小明", "phone": "13812345678"},
    } | overrides
    response = await api.post("/api/v1/cases", headers=tenant.headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def act(
    api: httpx.AsyncClient, tenant: TenantHandle, case_id: str, action: str, **body: Any
) -> None:
    response = await api.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=tenant.headers, json=body
    )
    assert response.status_code == 200, response.text


async def open_queue(page: Page, tenant: TenantHandle, name: str = "all") -> None:
    await page.goto(f"/console/queues/{name}")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page).to_have_url(re.compile(rf"/console/queues/{name}$"))


def row(page: Page, number: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=number, exact=True))


async def test_the_queue_in_both_languages_with_clocks_that_tick(
    page: Page, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    problems = Problems(page)
    late = await new_case(api, tenant, title="超时未回复", received_at=ago(days=2))
    soon = await new_case(api, tenant, title="即将到期", received_at=ago(hours=21))
    await open_queue(page, tenant)
    await expect(page.get_by_role("heading", name="全部工单", exact=True)).to_be_visible()
    await expect(page.get_by_role("heading", name="2 件")).to_be_visible()
    await expect(row(page, late["number"])).to_contain_text("超期")
    clock = row(page, soon["number"]).locator("[data-due]")
    await expect(clock).to_contain_text("后到期")
    before = await clock.text_content()
    await page.wait_for_timeout(2_100)
    after = await clock.text_content()
    assert before != after, "the due clock did not tick"
    await assert_accessible(page)
    await screenshot(page, "queue-zh-CN", ARTIFACTS)

    await page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="All cases", exact=True)).to_be_visible()
    await expect(page.get_by_role("columnheader", name="Customer")).to_be_visible()
    await expect(page.get_by_role("navigation", name="Language")).to_be_visible()
    await expect(row(page, late["number"])).to_contain_text("overdue by")
    await expect(row(page, soon["number"]).locator("[data-due]")).to_contain_text("due in")
    await assert_accessible(page)
    await screenshot(page, "queue-en", ARTIFACTS)
    assert problems.seen == []


async def test_a_case_changed_through_the_api_shows_in_the_open_queue_without_reload(
    page: Page, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    problems = Problems(page)
    first = await new_case(api, tenant, title="第一件")
    await open_queue(page, tenant, "unassigned")
    await expect(row(page, first["number"])).to_contain_text("已登记")
    await page.evaluate("() => { window.closeloopNotReloaded = true; }")
    await page.keyboard.press("j")
    first_link = page.get_by_role("link", name=first["number"], exact=True)
    await expect(first_link).to_be_focused()

    second = await new_case(api, tenant, title="电话里刚登记的")
    await expect(row(page, second["number"])).to_be_visible(timeout=LIVE_MS)
    # The redraw kept the keyboard user's place.
    await expect(first_link).to_be_focused()
    await expect(page.get_by_role("heading", name="2 件")).to_be_visible()
    await act(api, tenant, first["id"], "verify", valid=True)
    await expect(row(page, first["number"])).to_contain_text("已核实", timeout=LIVE_MS)
    assert await page.evaluate("() => window.closeloopNotReloaded === true")
    assert problems.seen == []


async def test_the_keyboard_moves_opens_searches_and_lists_the_shortcuts(
    page: Page, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    cases = [await new_case(api, tenant, title=f"键盘 {n}") for n in range(3)]
    await open_queue(page, tenant)
    links = page.locator("[data-row-link]")
    await expect(links).to_have_count(3)
    first, second = await links.nth(0).text_content(), await links.nth(1).text_content()

    await page.keyboard.press("j")
    await expect(page.get_by_role("link", name=first or "", exact=True)).to_be_focused()
    await page.keyboard.press("j")
    await expect(page.get_by_role("link", name=second or "", exact=True)).to_be_focused()
    await page.keyboard.press("k")
    await expect(page.get_by_role("link", name=first or "", exact=True)).to_be_focused()

    # `/` goes to the search box; typing j there types, it does not move.
    await page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="搜索")
    await expect(search).to_be_focused()
    await page.keyboard.type("jk")
    await expect(search).to_have_value("jk")
    await search.fill("")
    # A key an input method is composing is left alone.
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    await page.evaluate(
        """() => document.body.dispatchEvent(new KeyboardEvent("keydown",
            {key: "?", bubbles: true, isComposing: true}))"""
    )
    await expect(page.get_by_role("dialog", name="键盘快捷键")).to_be_hidden()

    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="键盘快捷键")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("打开选中的工单")
    await assert_accessible(page)
    await screenshot(page, "queue-shortcuts-zh-CN", ARTIFACTS)
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    # Enter opens the chosen case's page.
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    await page.keyboard.press("j")
    await page.keyboard.press("Enter")
    opened = {case["id"] for case in cases}
    await expect(page).to_have_url(re.compile(r"/console/cases/[0-9a-f-]+$"))
    assert page.url.rsplit("/", 1)[1] in opened


async def test_bulk_assign_in_the_browser(
    page: Page, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    response = await api.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": f"li-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com",
            "display_name": "李雷",
            "password": "correct horse battery",
            "roles": ["handler"],
        },
    )
    assert response.status_code == 201, response.text
    cases = [await new_case(api, tenant, title=f"待分派 {n}") for n in range(2)]
    for case in cases:
        await act(api, tenant, case["id"], "verify", valid=True)
    await open_queue(page, tenant, "unassigned")
    for case in cases:
        await page.get_by_role("checkbox", name=f"选择 {case['number']}").check()
    form = page.get_by_role("form", name="分派所选工单")
    await form.get_by_label("责任部门").select_option(index=1)
    await form.get_by_label("处理人").select_option(label="李雷")
    await form.get_by_role("button", name="分派所选").click()
    results = page.locator("#assign-results")
    await expect(results).to_contain_text(f"{cases[0]['number']}: 已分派")
    await expect(results).to_contain_text(f"{cases[1]['number']}: 已分派")
    # The queue redraws at once: assigned cases leave "unassigned".
    await expect(page.get_by_role("heading", name="0 件")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "queue-bulk-assign-zh-CN", ARTIFACTS)


async def test_the_supervisor_board_in_both_languages(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    await new_case(api, tenant, title="超时未回复", received_at=ago(days=2))
    await new_case(api, tenant, title="新登记")
    for locale, heading, counter in (
        ("zh-CN", "主管看板", "已超期"),
        ("en", "Supervisor board", "Breached"),
    ):
        page = await (await new_context(locale=locale)).new_page()
        problems = Problems(page)
        await page.goto("/console/board")
        labels = {
            "zh-CN": None,
            "en": {
                "tenant": "Organisation code",
                "email": "E-mail",
                "password": "Password",
                "submit": "Sign in",
            },
        }[locale]
        if labels:
            await sign_in(page, tenant.slug, tenant.admin_email, labels=labels)
            await (
                page.get_by_role("navigation", name="语言")
                .get_by_role("link", name="English")
                .click()
            )
        else:
            await sign_in(page, tenant.slug, tenant.admin_email)
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await expect(page.get_by_role("link", name=re.compile(counter))).to_contain_text("1")
        await assert_accessible(page)
        await screenshot(page, f"board-{locale}", ARTIFACTS)
        await page.get_by_role("link", name=re.compile(counter)).first.click()
        await expect(page).to_have_url(re.compile(r"/console/queues/breached$"))
        assert problems.seen == []


async def test_the_inbox_count_follows_new_notifications_live(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    page = await (await new_context()).new_page()
    problems = Problems(page)
    await page.goto("/console/inbox")
    await sign_in(page, tenant.slug, tenant.admin_email)
    nav = page.get_by_role("navigation", name="主导航")
    await expect(nav.get_by_role("link", name="收件箱", exact=True)).to_be_visible()
    await expect(page.get_by_text("没有通知。")).to_be_visible()

    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        session.add(
            Notification(
                tenant_id=tenant.id,
                id=new_id(),
                recipient_kind="user",
                recipient_user_id=tenant.admin_id,
                event="escalation",
                channel="inbox",
                locale="zh-CN",
                subject="工单已升级到二级",
                body="处理时限已过。",
                status="sent",
                sent_at=utcnow(),
            )
        )
    await expect(nav.get_by_role("link", name="收件箱 1 条未读")).to_be_visible(timeout=LIVE_MS)
    await page.reload()
    await expect(page.get_by_text("工单已升级到二级")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "inbox-zh-CN", ARTIFACTS)
    await page.get_by_role("button", name="标为已读", exact=True).click()
    await expect(nav.get_by_role("link", name="收件箱", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="标为已读", exact=True)).to_have_count(0)

    await page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "inbox-en", ARTIFACTS)
    assert problems.seen == []


async def test_first_load_of_a_full_queue_stays_within_the_budget(
    page: Page, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    """Signing in and landing on a queue of 50 cases: every response body, as Chromium
    counts the transfer (compressed where the server compressed)."""
    for n in range(52):
        await new_case(api, tenant, title=f"第 {n} 件投诉：快递延误，包装破损，要求退款")
    sizes: list[tuple[str, int]] = []

    async def count(response: Response) -> None:
        body = (await response.request.sizes())["responseBodySize"]
        sizes.append((response.url, max(body, 0)))

    page.on("response", count)
    await open_queue(page, tenant)
    await expect(page.locator("[data-row-link]")).to_have_count(50)
    await page.wait_for_load_state("networkidle")
    total = sum(size for _, size in sizes)
    assert total < 200 * 1024, f"first load transfers {total} bytes: {sizes}"
