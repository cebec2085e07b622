"""The case page and the follow-up workbench in a real Chromium: a supervisor assigns,
the handler starts, writes to the customer and resolves, a follow-up user completes the
follow-up with the script (the handler is never offered it), the supervisor archives
(edits gone, annotating still works). Every screen in zh-CN and en, checked with axe."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import BrowserContext, Page, expect

from support import PASSWORD, TenantHandle, bearer

# A 1x1 PNG: an attachment the page previews.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


async def _user(api: httpx.AsyncClient, tenant: TenantHandle, role: str, pii: bool = False) -> str:
    email = f"{role}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    response = await api.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": email,
            "display_name": f"{role.title()} {tenant.slug[-4:]}",
            "password": PASSWORD,
            "roles": [role],
            "permissions": ["pii"] if pii else [],
        },
    )
    assert response.status_code == 201, response.text
    return email


async def _verified_case(api: httpx.AsyncClient, tenant: TenantHandle) -> dict[str, Any]:
    made = await api.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": f"d-{uuid.uuid4().hex[:6]}", "name_zh": "售后物流组", "name_en": "Parcels"},
    )
    assert made.status_code == 201, made.text
    created = await api.post(
        "/api/v1/cases/",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "快递延误一周",
            "description": "订单 A1001 承诺三天送达,实际一周后才到,包装破损。",
            "customer": {"nickname": "小王", "name": "王小明", "phone": "13812345678"},
            "product": {"name": "电水壶", "model": "K-200", "order_number": "A1001"},
        },
    )
    assert created.status_code == 201, created.text
    case: dict[str, Any] = created.json()
    verified = await api.post(
        f"/api/v1/cases/{case['id']}/actions/verify", headers=tenant.headers, json={"valid": True}
    )
    assert verified.status_code == 200, verified.text
    uploaded = await api.post(
        f"/api/v1/cases/{case['id']}/attachments/",
        headers=tenant.headers,
        files={"file": ("photo.png", PNG, "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text
    return case


async def _signed_in(new_context: NewContext, tenant: TenantHandle, email: str) -> Page:
    context: BrowserContext = await new_context()
    page = await context.new_page()
    await page.goto("/console/login")
    await page.get_by_label("组织代码", exact=True).fill(tenant.slug)
    await page.get_by_label("电子邮箱", exact=True).fill(email)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/console/$"))
    return page


async def _act(page: Page, action: str, fill: dict[str, str] | None = None) -> None:
    """Open the action's form by its name, fill it by label, submit it."""
    await page.locator("summary", has_text=action).first.click()
    form = page.get_by_role("form", name=action, exact=True)
    for label, value in (fill or {}).items():
        await form.get_by_label(label, exact=True).fill(value)
    await form.get_by_role("button", name=action, exact=True).click()
    await page.wait_for_load_state()


async def _in_english(page: Page, path: str, name: str) -> None:
    await page.goto(f"/console/language/en?next={path}")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await assert_accessible(page)
    await screenshot(page, f"{name}-en", ARTIFACTS)
    await page.goto(f"/console/language/zh-CN?next={path}")


async def test_a_case_from_assignment_to_archive(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    supervisor_email = await _user(api, tenant, "supervisor", pii=True)
    handler_email = await _user(api, tenant, "handler")
    caller_email = await _user(api, tenant, "followup")
    case = await _verified_case(api, tenant)
    case_path = f"/console/cases/{case['id']}"

    # The supervisor assigns it to the handler.
    supervisor = await _signed_in(new_context, tenant, supervisor_email)
    problems = Problems(supervisor)
    await supervisor.goto(case_path)
    await expect(supervisor.get_by_role("heading", name="快递延误一周")).to_be_visible()
    await expect(supervisor.get_by_text("138****5678")).to_be_visible()
    await supervisor.locator("summary", has_text="分派").first.click()
    assign = supervisor.get_by_role("form", name="分派", exact=True)
    await assign.get_by_label("责任部门", exact=True).select_option(label="售后物流组")
    await assign.get_by_label("处理人", exact=True).select_option(
        label=f"Handler {tenant.slug[-4:]}"
    )
    await assign.get_by_role("button", name="分派", exact=True).click()
    await expect(supervisor.get_by_text("已分派").first).to_be_visible()
    await expect(supervisor.get_by_role("img", name=re.compile("photo.png"))).to_be_visible()
    # The contact details, shown on request (audited).
    await supervisor.get_by_role("button", name="显示联系方式").click()
    await expect(supervisor.get_by_text("13812345678")).to_be_visible()
    await assert_accessible(supervisor)
    await screenshot(supervisor, "case-page-zh-CN", ARTIFACTS)

    # The handler starts, writes to the customer and resolves.
    handler = await _signed_in(new_context, tenant, handler_email)
    handler_problems = Problems(handler)
    await handler.goto(case_path)
    await _act(handler, "开始处理")
    await expect(handler.locator("[data-status]")).to_have_attribute("data-status", "in_progress")
    await handler.locator("summary", has_text="处理进展").first.click()
    progress = handler.get_by_role("form", name="处理进展", exact=True)
    await progress.get_by_label("处理进展", exact=True).fill("已联系快递公司,明天补发。")
    await progress.get_by_label("客户可见", exact=True).check()
    await progress.get_by_role("button", name="处理进展", exact=True).click()
    await expect(handler.get_by_text("已联系快递公司,明天补发。")).to_be_visible()
    await _act(
        handler,
        "解决",
        {"根本原因": "承运商延误", "方案": "补发并赠送优惠券", "结果": "客户已收到补发商品"},
    )
    await expect(handler.locator("[data-status]")).to_have_attribute("data-status", "resolved")
    await expect(handler.locator('details[data-action="followup"]')).to_have_count(0)

    scheduled = await api.post(
        f"/api/v1/cases/{case['id']}/actions/schedule_followup", headers=tenant.headers, json={}
    )
    assert scheduled.status_code == 200, scheduled.text
    await handler.reload()
    await expect(handler.locator('details[data-action="followup"]')).to_have_count(0)
    refused = await handler.goto("/console/followups")
    assert refused is not None
    assert refused.status == 403

    # The follow-up user completes the follow-up with the script.
    caller = await _signed_in(new_context, tenant, caller_email)
    caller_problems = Problems(caller)
    await caller.goto("/console/followups")
    task = caller.get_by_role("article").filter(has_text=case["number"])
    await expect(task).to_be_visible()
    await _in_english(caller, "/console/followups", "followups")
    answers = task.locator("textarea[name^='answer.']")
    assert await answers.count() > 0
    for index in range(await answers.count()):
        await answers.nth(index).fill(f"回答 {index + 1}")
    await assert_accessible(caller)
    await screenshot(caller, "followups-zh-CN", ARTIFACTS)
    await task.get_by_role("button", name="已解决,客户满意").click()
    await expect(caller.get_by_text("没有等待您的回访。")).to_be_visible()

    # The supervisor archives: the edits are gone, an annotation still works.
    await supervisor.goto(case_path)
    await expect(supervisor.locator("[data-status]")).to_have_attribute("data-status", "closed")
    await _act(supervisor, "归档")
    await expect(supervisor.locator("[data-status]")).to_have_attribute("data-status", "archived")
    await expect(supervisor.get_by_role("link", name="编辑详情")).to_have_count(0)
    # Annotating, by keyboard: `n` opens the form with the cursor in its note.
    await supervisor.locator("body").click(position={"x": 5, "y": 5})
    await supervisor.keyboard.press("n")
    note = supervisor.get_by_role("form", name="备注", exact=True).get_by_label("备注", exact=True)
    await expect(note).to_be_focused()
    await supervisor.keyboard.type("归档后复核无误。")
    await supervisor.get_by_role("form", name="备注", exact=True).get_by_role("button").click()
    await expect(supervisor.get_by_text("归档后复核无误。")).to_be_visible()
    await assert_accessible(supervisor)
    await _in_english(supervisor, case_path, "case-page")

    await supervisor.goto(f"{case_path}/print")
    await expect(supervisor.get_by_role("heading", name="客户投诉处理与回访记录表")).to_be_visible()
    await expect(supervisor.get_by_role("row", name=re.compile("投诉编号"))).to_contain_text(
        case["number"]
    )
    await assert_accessible(supervisor)
    await screenshot(supervisor, "case-print-zh-CN", ARTIFACTS)
    await _in_english(supervisor, f"{case_path}/print", "case-print")

    assert problems.seen == []
    assert handler_problems.seen == []
    assert caller_problems.seen == []


async def test_a_stale_edit_in_the_browser_shows_the_conflict(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    case = await _verified_case(api, tenant)
    page = await _signed_in(new_context, tenant, tenant.admin_email)
    await page.goto(f"/console/cases/{case['id']}")
    await page.get_by_role("link", name="编辑详情").click()
    title = page.get_by_label("标题", exact=True)
    await expect(title).to_be_visible()
    changed = await api.patch(
        f"/api/v1/cases/{case['id']}",
        headers={**bearer(tenant.token), "If-Match": '"2"'},
        json={"title": "同事改过的标题"},
    )
    assert changed.status_code == 200, changed.text
    await title.fill("我的标题")
    await page.get_by_role("button", name="保存详情").click()
    await expect(page.get_by_role("alert")).to_contain_text("同事改过的标题")
    await expect(page.get_by_label("标题", exact=True)).to_have_value("我的标题")
    await assert_accessible(page)


async def test_a_script_title_is_text_and_another_tenants_case_is_not_found(
    new_context: NewContext,
    api: httpx.AsyncClient,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
) -> None:
    mine = await api.post(
        "/api/v1/cases/",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "<script>alert(1)</script>",
            "description": "标题里有脚本。",
        },
    )
    assert mine.status_code == 201, mine.text
    theirs = await _verified_case(api, other_tenant)
    page = await _signed_in(new_context, tenant, tenant.admin_email)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    problems = Problems(page)
    await page.goto(f"/console/cases/{mine.json()['id']}")
    await expect(page.get_by_role("heading", name="<script>alert(1)</script>")).to_be_visible()
    await page.goto(f"/console/cases/{mine.json()['id']}/print")
    await expect(page.get_by_text("<script>alert(1)</script>")).to_be_visible()
    answer = await page.goto(f"/console/cases/{theirs['id']}")
    assert answer is not None
    assert answer.status == 404
    await expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    assert dialogs == []
    assert problems.seen == []


async def test_the_assign_picker_and_adding_a_file_on_the_page(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    case = await _verified_case(api, tenant)
    departments = await api.get("/api/v1/departments/", headers=tenant.headers)
    parcels = next(d for d in departments.json() if d["name_zh"] == "售后物流组")
    made = await api.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": f"handler-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com",
            "display_name": "物流处理人",
            "password": PASSWORD,
            "roles": ["handler"],
            "department_id": parcels["id"],
        },
    )
    assert made.status_code == 201, made.text
    page = await _signed_in(new_context, tenant, tenant.admin_email)
    problems = Problems(page)
    await page.goto(f"/console/cases/{case['id']}")

    # A handler picked first brings their department with them.
    await page.locator("summary", has_text="分派").first.click()
    form = page.get_by_role("form", name="分派", exact=True)
    await form.get_by_label("处理人", exact=True).select_option(label="物流处理人")
    await expect(form.get_by_label("责任部门", exact=True)).to_have_value(parcels["id"])

    # A file chosen on the page is stored and listed.
    await page.get_by_label("添加文件", exact=True).set_input_files(
        files=[{"name": "回执.txt", "mimeType": "text/plain", "buffer": "签收回执".encode()}]
    )
    await page.get_by_role("button", name="上传附件", exact=True).click()
    await expect(page.get_by_role("link", name="下载 回执.txt")).to_be_visible()
    await assert_accessible(page)
    assert problems.seen == []
