"""The console's sign-in, sessions and safety nets, in a real Chromium.

Elements are found the way a person and a screen reader find them: by role and
accessible name. Every page visited is checked with axe-core and screenshotted.
"""

from __future__ import annotations

import re
from typing import Any

from browser_support import (
    ARTIFACTS,
    LOGIN_MAX_FAILURES,
    NewContext,
    Problems,
    assert_accessible,
    screenshot,
)
from playwright.async_api import Page, Response, expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import PASSWORD, TenantHandle

ZH = {"tenant": "组织代码", "email": "电子邮箱", "password": "密码", "submit": "登录"}
EN = {"tenant": "Organisation code", "email": "E-mail", "password": "Password", "submit": "Sign in"}


async def sign_in(
    page: Page, tenant: str, email: str, password: str = PASSWORD, labels: dict[str, str] = ZH
) -> None:
    await page.get_by_label(labels["tenant"], exact=True).fill(tenant)
    await page.get_by_label(labels["email"], exact=True).fill(email)
    await page.get_by_label(labels["password"], exact=True).fill(password)
    await page.get_by_role("button", name=labels["submit"], exact=True).click()


async def test_sign_in_in_chinese(page: Page, tenant: TenantHandle) -> None:
    problems = Problems(page)
    response = await page.goto("/console/")
    assert response is not None
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    await expect(page.get_by_role("heading", name="登录员工控制台")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "login-zh-CN", ARTIFACTS)

    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page).to_have_url(re.compile(r"/console/$"))
    await expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    await expect(page.get_by_role("main")).to_contain_text(tenant.admin_email)
    await expect(page.get_by_role("button", name="退出登录")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "home-zh-CN", ARTIFACTS)
    assert problems.seen == []


async def test_sign_in_in_english_by_browser_language_and_by_pick(
    new_context: NewContext, tenant: TenantHandle
) -> None:
    # An English browser gets the sign-in page in English; once signed in, the tenant's
    # locale (zh-CN) applies until the user picks a language.
    english = await (await new_context(locale="en-US")).new_page()
    problems = Problems(english)
    await english.goto("/console/login")
    await expect(english.locator("html")).to_have_attribute("lang", "en")
    await expect(
        english.get_by_role("heading", name="Sign in to the staff console")
    ).to_be_visible()
    await assert_accessible(english)
    await screenshot(english, "login-en", ARTIFACTS)
    await sign_in(english, tenant.slug, tenant.admin_email, labels=EN)
    await expect(english.get_by_role("heading", name="工作台")).to_be_visible()
    await english.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    await expect(english.get_by_role("heading", name="Workbench")).to_be_visible()
    await expect(english.get_by_role("button", name="Sign out")).to_be_visible()
    await assert_accessible(english)
    await screenshot(english, "home-en", ARTIFACTS)
    assert problems.seen == []

    # A Chinese browser whose user picks English on the sign-in page keeps English.
    chinese = await (await new_context(locale="zh-CN")).new_page()
    await chinese.goto("/console/login")
    await chinese.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    await expect(chinese.locator("html")).to_have_attribute("lang", "en")
    await sign_in(chinese, tenant.slug, tenant.admin_email, labels=EN)
    await expect(chinese.get_by_role("heading", name="Workbench")).to_be_visible()


async def test_a_wrong_password_shows_an_error(page: Page, tenant: TenantHandle) -> None:
    await page.goto("/console/login")
    await sign_in(page, tenant.slug, tenant.admin_email, "not the password")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("组织代码、电子邮箱或密码错误")
    await expect(page.get_by_label("电子邮箱", exact=True)).to_have_value(tenant.admin_email)
    await expect(page.get_by_label("密码", exact=True)).to_have_value("")
    await assert_accessible(page)
    await screenshot(page, "login-wrong-password-zh-CN", ARTIFACTS)


async def test_repeated_failures_throttle_even_the_right_password(
    page: Page, tenant: TenantHandle
) -> None:
    await page.goto("/console/login")
    for _ in range(LOGIN_MAX_FAILURES):
        await sign_in(page, tenant.slug, tenant.admin_email, "not the password")
        await expect(page.get_by_role("alert")).to_contain_text("密码错误")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page.get_by_role("alert")).to_contain_text("登录失败次数过多")
    await expect(page).to_have_url(re.compile(r"/console/login$"))


async def test_sign_out_ends_the_session(page: Page, tenant: TenantHandle) -> None:
    await page.goto("/console/login")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", name="登录员工控制台")).to_be_visible()
    cookies = {c["name"] for c in await page.context.cookies()}
    assert "closeloop_session" not in cookies
    await page.goto("/console/")
    await expect(page).to_have_url(re.compile(r"/console/login$"))


async def test_a_form_without_its_csrf_token_is_refused_with_the_console_error_page(
    page: Page, tenant: TenantHandle
) -> None:
    await page.goto("/console/login")
    await sign_in(page, tenant.slug, tenant.admin_email)
    # A POST from elsewhere carries the cookies (SameSite=Lax aside) but not the token.
    response = await page.request.post("/console/logout", form={"nothing": "here"})
    assert response.status == 403
    assert "不允许的操作" in await response.text()
    # Still signed in: the refused sign-out changed nothing.
    await page.goto("/console/")
    await expect(page.get_by_role("heading", name="工作台")).to_be_visible()

    # The form's own token no longer matches once the browser's CSRF cookie is gone.
    await page.context.clear_cookies(name="closeloop_csrf")
    await page.get_by_role("button", name="退出登录").click()
    await expect(page.get_by_role("heading", name="不允许的操作")).to_be_visible()
    await expect(page.get_by_role("link", name="返回控制台")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "error-403-zh-CN", ARTIFACTS)


async def test_pages_carry_the_csp_and_frame_headers_and_break_no_rule(
    page: Page, tenant: TenantHandle
) -> None:
    problems = Problems(page)
    response = await page.goto("/console/login")
    assert response is not None
    headers = await response.all_headers()
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    # htmx and console.js ran under the policy: htmx is loaded, nothing was refused.
    assert await page.evaluate("() => typeof window.htmx === 'object' && htmx.version")
    assert problems.seen == []


async def test_a_session_past_its_idle_timeout_is_refused(
    page: Page, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await page.goto("/console/login")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        # The served app's idle timeout is the default (1800 s): last used 31 minutes ago.
        await conn.execute(
            text("UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes'")
        )
    await page.reload()
    await expect(page).to_have_url(re.compile(r"/console/login\?ended=1$"))
    await expect(page.get_by_role("status")).to_contain_text("您的会话已结束")
    await assert_accessible(page)
    await screenshot(page, "login-session-ended-zh-CN", ARTIFACTS)


async def test_another_tenants_session_cannot_be_used(
    new_context: NewContext, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    context = await new_context()
    page = await context.new_page()
    await page.goto("/console/login")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    (session,) = [c for c in await context.cookies() if c["name"] == "closeloop_session"]
    secret = session["value"].split(".", 1)[1]

    # The same secret presented under the other tenant's id opens nothing.
    forged: dict[str, Any] = {**session, "value": f"{other_tenant.id.hex}.{secret}"}
    await context.clear_cookies(name="closeloop_session")
    await context.add_cookies([forged])  # type: ignore[list-item]
    await page.goto("/console/")
    await expect(page).to_have_url(re.compile(r"/console/login\?ended=1$"))


async def test_unknown_pages_get_the_console_404_page(new_context: NewContext) -> None:
    for locale, heading in (("zh-CN", "页面不存在"), ("en", "Page not found")):
        page = await (await new_context(locale=locale)).new_page()
        response = await page.goto("/console/no-such-page")
        assert response is not None
        assert response.status == 404
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await assert_accessible(page)
        await screenshot(page, f"error-404-{locale}", ARTIFACTS)


async def test_first_load_of_the_sign_in_page_stays_within_the_budget(page: Page) -> None:
    """What a first visit transfers, as Chromium counts it (compressed bytes)."""
    sizes: dict[str, int] = {}
    encodings: dict[str, str | None] = {}

    async def count(response: Response) -> None:
        sizes[response.url] = (await response.request.sizes())["responseBodySize"]
        encodings[response.url] = (await response.all_headers()).get("content-encoding")

    page.on("response", count)
    await page.goto("/console/login", wait_until="networkidle")
    static = [url for url in sizes if "/console/static/" in url]
    assert any(url.endswith("tabler.min.css") for url in static)
    assert all(encodings[url] == "gzip" for url in static if url.endswith((".css", ".js")))
    total = sum(sizes.values())
    assert total < 200 * 1024, f"first load transfers {total} bytes: {sizes}"
