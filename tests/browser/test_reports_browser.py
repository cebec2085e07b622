"""The reports dashboard in a real Chromium: the charts drawn with data (ECharts on a
canvas, Chinese labels in a CJK font), a click on a chart's bar opening the page that
lists exactly the cases behind it, axe-core on both pages, zh-CN and en screenshots.

The served app runs no worker: the test brings the cases' report facts up to date with
the worker's own function (`closeloop.reports.facts.refresh`) on the shared database.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx
from browser_support import ARTIFACTS, NewContext, Problems, assert_accessible, screenshot
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from test_console_browser import EN, sign_in
from test_queues_browser import new_case

from closeloop.db import sessionmaker, transaction
from closeloop.reports.facts import refresh
from support import TenantHandle, category_ids


def around_today() -> str:
    today = dt.datetime.now(dt.UTC).date()
    return f"from={today - dt.timedelta(days=1)}&to={today + dt.timedelta(days=1)}"


async def refresh_facts(engine: AsyncEngine, tenant: TenantHandle, cases: list[Any]) -> None:
    async with transaction(sessionmaker(engine), tenant.id) as session:
        for case in cases:
            await refresh(session, uuid.UUID(case["id"]))


async def chart_option(page: Page, chart_id: str) -> dict[str, Any]:
    option: dict[str, Any] = await page.evaluate(
        """(id) => {
            const chart = echarts.getInstanceByDom(document.getElementById(id));
            const option = chart.getOption();
            return {
                categories: option.xAxis ? option.xAxis[0].data : null,
                series: option.series.map((s) => s.data.map((d) => d.value)),
                font: [].concat(option.textStyle)[0].fontFamily,
            };
        }""",
        f"chart-{chart_id}",
    )
    return option


async def click_bar(page: Page, chart_id: str, index: int) -> None:
    """Click the middle of bar `index` of the chart's first series, where a person would."""
    await page.locator(f"#chart-{chart_id}").scroll_into_view_if_needed()
    at = await page.evaluate(
        """([id, index]) => {
            const element = document.getElementById(id);
            const chart = echarts.getInstanceByDom(element);
            // The bar's rectangle as laid out (beside the other series' bars).
            const bar = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(index);
            const [x, y] = [bar.x + bar.width / 2, bar.y + bar.height / 2];
            const box = element.getBoundingClientRect();
            return [box.left + x, box.top + y];
        }""",
        [f"chart-{chart_id}", index],
    )
    await page.mouse.click(at[0], at[1])


async def test_the_dashboard_draws_its_charts_and_a_bar_opens_its_cases(
    page: Page,
    new_context: NewContext,
    api: httpx.AsyncClient,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    problems = Problems(page)
    categories = await category_ids(api, tenant)
    delayed = [
        await new_case(api, tenant, channel="phone", category_id=categories["logistics_delay"])
        for _ in range(2)
    ]
    broken = await new_case(api, tenant, channel="web", category_id=categories["product_quality"])
    await refresh_facts(owner_engine, tenant, [*delayed, broken])

    await page.goto(f"/console/reports?{around_today()}")
    await sign_in(page, tenant.slug, tenant.admin_email)
    await expect(page.get_by_role("heading", name="报表", exact=True)).to_be_visible()
    await expect(page.locator("#chart-pareto canvas")).to_be_visible()
    await expect(page.locator("#chart-trend canvas")).to_be_visible()
    await expect(page.locator("#chart-channels canvas")).to_be_visible()

    # Drawn with data: the Pareto bars are the categories, most first, in Chinese,
    # in a font that has Chinese glyphs.
    pareto = await chart_option(page, "pareto")
    assert pareto["categories"] == ["物流延误", "产品质量"]
    assert pareto["series"][0] == [2, 1]
    assert "Noto Sans CJK SC" in pareto["font"]
    assert await page.evaluate(
        "() => document.fonts.check('14px \"Noto Sans CJK SC\"', '物流延误')"
    )
    trend = await chart_option(page, "trend")
    assert sum(value or 0 for value in trend["series"][0]) == 3
    channels = await chart_option(page, "channels")
    assert sorted(channels["series"][0]) == [1, 2]
    await assert_accessible(page)
    await screenshot(page, "reports-dashboard-zh", ARTIFACTS)

    # A click on the first Pareto bar opens the cases it counted, and only those.
    await click_bar(page, "pareto", 0)
    await expect(page).to_have_url(re.compile(r"/console/reports/pareto/cases\?.*key=category"))
    await expect(page.get_by_role("heading", name=re.compile("物流延误"))).to_be_visible()
    rows = page.locator("[data-report-cases] tbody tr[data-case-id]")
    await expect(rows).to_have_count(2)
    shown = set(await rows.evaluate_all("(rows) => rows.map((r) => r.dataset.caseId)"))
    assert shown == {case["id"] for case in delayed}
    await assert_accessible(page)
    await page.get_by_role("link", name="返回报表").click()
    await expect(page.locator("#chart-pareto canvas")).to_be_visible()
    assert problems.seen == []

    # In English: the same figures, English labels; a trend bar opens its day's cases.
    english = await (await new_context(locale="en")).new_page()
    english_problems = Problems(english)
    await english.goto(f"/console/reports?{around_today()}&group_by=day")
    await sign_in(english, tenant.slug, tenant.admin_email, labels=EN)
    # The tenant's language (zh-CN) wins over the browser's until the user picks one.
    await english.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    await english.goto(f"/console/reports?{around_today()}&group_by=day")
    await expect(english.get_by_role("heading", name="Reports", exact=True)).to_be_visible()
    await expect(english.locator("#chart-trend canvas")).to_be_visible()
    assert (await chart_option(english, "pareto"))["categories"] == [
        "Logistics delay",
        "Product quality",
    ]
    trend = await chart_option(english, "trend")
    today = next(i for i, value in enumerate(trend["series"][0]) if value)
    await assert_accessible(english)
    await screenshot(english, "reports-dashboard-en", ARTIFACTS)
    await click_bar(english, "trend", today)
    await expect(english).to_have_url(re.compile(r"/console/reports/volume/cases\?.*key=day"))
    rows = english.locator("[data-report-cases] tbody tr[data-case-id]")
    await expect(rows).to_have_count(3)
    assert english_problems.seen == []
