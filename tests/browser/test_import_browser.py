"""The import page in a real Chromium: an admin uploads a GBK CSV, sees it read as
GB18030, maps its columns, dry-runs it, then imports it for real while the worker runs
it (the run's message through the outbox), watches the progress reach 100 % and reads
the per-row report. axe-core checks each page; no script error, nothing the CSP refused."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.queue.relay import Relay
from closeloop.settings import Settings
from support import PASSWORD, TenantHandle, import_worker

GBK_FILE = (
    "编号,日期,渠道,类型,内容\n"
    "B-1,2026-11-03,电话,物流延误,快递延误一周才到\n"
    "B-2,2026-11-04,电话,外星人入侵,不知道是什么类别\n"
    "B-3,明天下午,电话,产品质量,日期写错了\n"
    "B-4,2026-11-05,电话,产品质量,屏幕有坏点\n"
).encode("gbk")


@contextlib.asynccontextmanager
async def worker_with_relay(
    database: Provisioned, settings: Settings, engine: AsyncEngine
) -> AsyncIterator[None]:
    """The worker running `run_import`, fed from the outbox every 200 ms."""
    async with import_worker(database.app_url, settings) as broker:

        async def feed() -> None:
            while True:
                await Relay(engine, broker).drain()
                await asyncio.sleep(0.2)

        task = asyncio.create_task(feed())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def sign_in(page: Page, tenant: TenantHandle) -> None:
    await page.goto("/console/login?next=/console/imports")
    await page.get_by_label("组织代码", exact=True).fill(tenant.slug)
    await page.get_by_label("电子邮箱", exact=True).fill(tenant.admin_email)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_label("密码", exact=True).press("Enter")


async def map_columns(page: Page) -> None:
    """From the heimao mapping to this file: id, date, channel, category, text. The
    fields go by their Chinese labels (the file's columns, ticked into extra data by
    checkboxes of their own names, share some of them: 渠道, 内容)."""

    def field(label: str) -> Locator:
        return page.get_by_role("combobox", name=label, exact=True)

    await page.get_by_text("其他投诉字段").click()  # the fields heimao does not fill
    await field("原系统编号").select_option("编号")
    await field("受理时间").select_option("日期")
    await field("内容").select_option("内容")
    await field("标题").select_option("")
    await field("产品").select_option("")
    await field("客户诉求").select_option("")
    await field("渠道").select_option("渠道")
    await page.get_by_label("渠道的取值对照").fill("电话 = phone")
    await field("类型").select_option("类型")
    await page.get_by_label("类型的取值对照").fill(
        "物流延误 = logistics_delay\n产品质量 = product_quality"
    )
    await page.get_by_label("类型的未知取值").select_option("report")
    await page.get_by_label("类型的默认值").fill("")


async def test_an_admin_uploads_maps_dry_runs_and_imports_a_gbk_file(
    new_context: NewContext,
    api: httpx.AsyncClient,
    tenant: TenantHandle,
    database: Provisioned,
    settings: Settings,
    app_engine: AsyncEngine,
) -> None:
    page = await (await new_context()).new_page()
    problems = Problems(page)
    await sign_in(page, tenant)
    await expect(page.get_by_role("heading", name="导入投诉")).to_be_visible()
    await assert_accessible(page)

    await page.get_by_label("CSV 或 XLSX 文件").set_input_files(
        files=[{"name": "helpdesk.csv", "mimeType": "text/csv", "buffer": GBK_FILE}]
    )
    await page.get_by_label("从此映射开始").select_option("shipped:heimao")
    await page.get_by_role("button", name="上传并预览").click()

    await expect(page.get_by_role("heading", name="导入 helpdesk.csv")).to_be_visible()
    await expect(page.locator("[data-encoding]")).to_have_text("GB18030")
    await expect(page.locator("[data-delimiter]")).to_have_text("逗号")
    await expect(page.get_by_role("cell", name="快递延误一周才到")).to_be_visible()
    # Each field by its label, its mapping name (as mapping files spell it) under it.
    channel = page.locator("th:has(label[for='f.channel'])")
    await expect(channel.locator("label")).to_have_text("渠道")
    await expect(channel.locator("[data-mapping-name]")).to_have_text("channel")
    await map_columns(page)
    await assert_accessible(page)
    await screenshot(page, "import-mapping-zh-CN", ARTIFACTS)

    async with worker_with_relay(database, settings, app_engine):
        await page.get_by_role("button", name="试运行").click()
        await expect(page.get_by_role("heading", name="试运行 helpdesk.csv")).to_be_visible()
        await expect(page.locator("[data-percent]")).to_have_text("100%")
        await expect(page.locator("dt:has-text('将新建') + dd")).to_have_text("2")

        await page.get_by_role("button", name="正式导入").click()
        await expect(page.get_by_role("heading", name="导入 helpdesk.csv")).to_be_visible()
        await expect(page.locator("[data-percent]")).to_have_text("100%")
        await expect(page.locator("#import-progress")).to_have_attribute("value", "100")

    report = page.get_by_role("table").filter(has_text="外星人入侵")
    await expect(report).to_be_visible()
    await expect(report.get_by_role("row")).to_have_count(3)  # header, rows 3 and 4
    await expect(page.get_by_role("link", name="下载错误报告 (CSV)")).to_be_visible()
    await expect(page.get_by_role("button", name="撤销本次导入")).to_be_visible()
    await assert_accessible(page)
    await screenshot(page, "import-report-zh-CN", ARTIFACTS)

    cases = await api.get("/api/v1/cases/", headers=tenant.headers)
    assert sorted(c["title"] for c in cases.json()["items"]) == ["屏幕有坏点", "快递延误一周才到"]
    assert problems.seen == []
