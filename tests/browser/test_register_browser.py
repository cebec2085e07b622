"""Screen 1, register a case, in a real Chromium: an agent signs in (zh-CN) and
registers a phoned-in complaint with the keyboard alone, then sees the number and the
promised reply time. Both languages are screenshotted and checked with axe-core."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import Page, expect

from support import PASSWORD, TenantHandle, make_staff


async def make_agent(api: httpx.AsyncClient, tenant: TenantHandle) -> str:
    _, email = await make_staff(api, tenant, "agent", display_name="孙小丽")
    return email


async def sign_in_by_keyboard(page: Page, tenant: str, email: str) -> None:
    await page.goto("/console/login?next=/console/cases/new")
    await page.get_by_label("组织代码", exact=True).focus()
    await page.keyboard.type(tenant)
    await page.keyboard.press("Tab")
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")


async def agent_at_the_form(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> tuple[Page, Problems]:
    """A new agent of `tenant`, signed in with the keyboard, at the register form with
    the phone field focused."""
    page = await (await new_context()).new_page()
    problems = Problems(page)
    await sign_in_by_keyboard(page, tenant.slug, await make_agent(api, tenant))
    await expect(page.get_by_label("电话", exact=True)).to_be_focused()
    return page, problems


async def test_an_agent_registers_a_phone_complaint_with_the_keyboard_alone(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    page, problems = await agent_at_the_form(new_context, api, tenant)  # autofocus: phone
    await expect(page.get_by_role("heading", name="登记案件")).to_be_visible()
    await expect(page.get_by_label("渠道")).to_have_value("phone")
    await assert_accessible(page)
    await screenshot(page, "register-zh-CN", ARTIFACTS)

    await page.keyboard.type("138 0013 8000")
    await page.keyboard.press("Tab")  # e-mail: none given
    await page.keyboard.press("Tab")
    await page.keyboard.type("王小明")
    await page.keyboard.press("Tab")
    await page.keyboard.type("王先生")
    await expect(page.get_by_text("尚无使用该电话或邮箱的客户")).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("标题")).to_be_focused()
    await page.keyboard.type("<script>alert(1)</script> 电水壶漏水")
    await page.keyboard.press("Tab")
    await page.keyboard.type("买了两周的电水壶底部漏水,客户要求换货。")
    await page.keyboard.press("Control+Enter")

    heading = page.get_by_role("heading", name=re.compile(r"^案件 .+ 已登记$"))
    await expect(heading).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/console/cases/[0-9a-f-]{36}/registered$"))
    number = (await page.locator("[data-case-number]").inner_text()).strip()
    assert number
    await expect(page.locator("time[data-due]")).to_be_visible()  # the promised reply
    await expect(page.get_by_role("link", name="打开案件")).to_be_focused()
    await expect(page.get_by_text("<script>alert(1)</script> 电水壶漏水")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "register-done-zh-CN", ARTIFACTS)

    cases = await api.get("/api/v1/cases/", headers=tenant.headers)
    (case,) = cases.json()["items"]
    assert case["number"] == number
    assert case["channel"] == "phone"
    assert case["customer"]["phone"] == "138 0013 8000"  # the admin holds `pii`

    done = urlsplit(page.url).path
    await page.goto(f"/console/language/en?next={done}")
    await expect(page.get_by_role("heading", name=f"Case {number} registered")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "register-done-en", ARTIFACTS)
    await page.goto("/console/cases/new")
    await expect(page.get_by_role("heading", name="Register a case")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "register-en", ARTIFACTS)
    assert problems.seen == []


async def test_a_refusal_keeps_what_was_typed(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    """The intake refuses a time in the future: the problem is named next to the field
    and everything typed, the phone number included, is still in the form."""
    page, problems = await agent_at_the_form(new_context, api, tenant)
    await page.keyboard.type("13800138001")
    await page.get_by_label("受理时间").fill("2099-01-01T12:00")
    await page.get_by_label("标题").focus()
    await page.keyboard.type("未来的投诉")
    await page.keyboard.press("Tab")
    await page.keyboard.type("受理时间写错了。")
    await page.keyboard.press("Control+Enter")

    await expect(page.get_by_role("alert")).to_contain_text("受理时间")
    await expect(page.get_by_label("电话", exact=True)).to_have_value("13800138001")
    await expect(page.get_by_label("标题")).to_have_value("未来的投诉")
    await assert_accessible(page)
    await screenshot(page, "register-refused-zh-CN", ARTIFACTS)
    cases = await api.get("/api/v1/cases/", headers=tenant.headers)
    assert cases.json()["items"] == []
    assert problems.seen == []


async def test_files_dropped_on_the_form_are_attached_to_the_case(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    page, problems = await agent_at_the_form(new_context, api, tenant)
    await page.keyboard.type("13800138002")
    await page.get_by_label("标题").focus()
    await page.keyboard.type("发票金额错误")
    await page.keyboard.press("Tab")
    await page.keyboard.type("发票金额与订单不符,附上照片。")

    dropped = await page.evaluate_handle(
        """() => {
            const files = new DataTransfer();
            files.items.add(new File(["订单 A1001 的发票"], "invoice.txt", {type: "text/plain"}));
            return files;
        }"""
    )
    await page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
    await expect(page.get_by_text("invoice.txt")).to_be_visible()
    await page.get_by_label("标题").focus()
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_role("heading", name=re.compile(r"^案件 .+ 已登记$"))).to_be_visible()

    (case,) = (await api.get("/api/v1/cases/", headers=tenant.headers)).json()["items"]
    files = await api.get(f"/api/v1/cases/{case['id']}/attachments", headers=tenant.headers)
    assert [(f["filename"], f["content_type"]) for f in files.json()] == [
        ("invoice.txt", "text/plain")
    ]
    assert problems.seen == []
