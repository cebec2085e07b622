"""The report e-mails page in a real Chromium: an admin goes there from the reports
dashboard, types a bad address and gets the form back with the problem at the
recipients box (nothing added), adds a weekly English report, changes it to a monthly
Chinese one for fewer people and pauses it from the list (htmx swaps the row); the API
reads back what the page did. axe-core checks each page; no script error, nothing the
CSP refused."""

from __future__ import annotations

import re
from typing import Any

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import expect
from test_console_browser import sign_in

from support import TenantHandle, make_staff


async def _schedules(api: httpx.AsyncClient, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/report-schedules", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()
    return items


async def test_an_admin_adds_and_changes_a_report_email(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    viewer_id, viewer_email = await make_staff(api, tenant, "viewer")  # type: ignore[arg-type]
    page = await (await new_context()).new_page()
    problems = Problems(page)
    await page.goto("/console/reports?period=2026-10")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await page.get_by_role("link", name="报表邮件").click()
    await expect(page).to_have_url(re.compile(r"/console/reports/schedules/?$"))
    await expect(page.get_by_role("heading", name="报表邮件", exact=True)).to_be_visible()
    await expect(page.get_by_text("还没有报表邮件。")).to_be_visible()
    await assert_accessible(page)

    form = page.get_by_role("form", name="添加报表邮件")
    await form.get_by_label("标题").fill("客服周报")
    await form.get_by_role("combobox", name="频率").select_option("weekly")
    await form.get_by_role("combobox", name="语言").select_option("en")
    recipients = form.get_by_label("收件人")
    await recipients.fill(f"{tenant.admin_email}\nnot-an-address")
    await form.get_by_role("button", name="添加").click()

    # Refused: the form again, the problem named at the recipients box, nothing added.
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("收件人")
    await expect(alert).to_contain_text("'not-an-address' is not an e-mail address")
    form = page.get_by_role("form", name="添加报表邮件")
    recipients = form.get_by_label("收件人")
    await expect(recipients).to_have_attribute("aria-invalid", "true")
    await expect(recipients).to_have_value(f"{tenant.admin_email}\nnot-an-address")
    await expect(form.get_by_label("标题")).to_have_value("客服周报")
    await assert_accessible(page)
    await screenshot(page, "report-schedules-refused-zh-CN", ARTIFACTS)
    assert await _schedules(api, tenant) == []

    await recipients.fill(f"{tenant.admin_email}\n{viewer_email}")
    await form.get_by_role("button", name="添加").click()
    row = page.locator("#schedules tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("客服周报")
    await expect(row).to_contain_text("English")
    await expect(row).to_contain_text(viewer_email)
    (made,) = await _schedules(api, tenant)
    assert (made["frequency"], made["locale"]) == ("weekly", "en")
    assert made["recipients"] == [str(tenant.admin_id), str(viewer_id)]
    await assert_accessible(page)
    await screenshot(page, "report-schedules-zh-CN", ARTIFACTS)

    # Change it: monthly, in Chinese, to the admin only.
    await row.get_by_role("link", name="客服周报").click()
    await expect(page.get_by_role("heading", name="客服周报")).to_be_visible()
    form = page.get_by_role("form", name="修改此报表邮件")
    await expect(form.get_by_label("收件人")).to_have_value(f"{tenant.admin_email}\n{viewer_email}")
    await form.get_by_label("标题").fill("客服月报")
    await form.get_by_role("combobox", name="频率").select_option("monthly")
    await form.get_by_role("combobox", name="语言").select_option("zh-CN")
    await form.get_by_label("收件人").fill(tenant.admin_email)
    await assert_accessible(page)
    await form.get_by_role("button", name="保存").click()
    row = page.locator("#schedules tbody tr")
    await expect(row).to_contain_text("客服月报")
    await expect(row).to_contain_text("每月")
    await expect(row).to_contain_text("简体中文")
    await expect(row).not_to_contain_text(viewer_email)
    (changed,) = await _schedules(api, tenant)
    assert (changed["name"], changed["frequency"], changed["locale"]) == (
        "客服月报",
        "monthly",
        "zh-CN",
    )
    assert changed["recipients"] == [str(tenant.admin_id)]

    # Pause it from the list: the row is swapped in place (no new page).
    await page.evaluate("window.marker = 'same page'")
    await row.get_by_role("button", name="暂停 客服月报").click()
    await expect(row).to_contain_text("已暂停")
    await expect(row.get_by_role("button", name="恢复 客服月报")).to_be_visible()
    assert await page.evaluate("window.marker") == "same page"
    (paused,) = await _schedules(api, tenant)
    assert (paused["active"], paused["next_run_at"]) == (False, None)
    assert problems.seen == []
