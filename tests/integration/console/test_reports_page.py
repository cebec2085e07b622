"""The reports dashboard (`/console/reports`) and the cases behind a figure
(`/console/reports/{metric}/cases`) over HTTP: who may open them, the department
scope, the figures and the links behind them, filters kept in the URL, both languages.

The cases are registered through the API; their report facts are brought up to date
with the reports worker's own function (`closeloop.reports.facts.refresh`, the body of
the `refresh_case_facts` actor) instead of a running worker.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from console_support import PII, act, console_sign_in, department_id, make_staff, new_case
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.reports.facts import refresh
from support import Client, TenantHandle, category_ids

RESOLVED = {
    "root_cause": "courier delay",
    "responsible_party": "third_party",
    "third_party": "the courier",
    "solution_type": "apology",
    "result": "apologised and refunded the shipping",
}
CASE_ROW = re.compile(r'<tr data-case-id="([0-9a-f-]+)">')


def days_around_today() -> dict[str, str]:
    """From yesterday to tomorrow (UTC): today in any tenant's time zone."""
    today = dt.datetime.now(dt.UTC).date()
    return {
        "from": (today - dt.timedelta(days=1)).isoformat(),
        "to": (today + dt.timedelta(days=1)).isoformat(),
    }


async def refresh_facts(engine: AsyncEngine, tenant: TenantHandle, *cases: dict[str, Any]) -> None:
    async with transaction(sessionmaker(engine), tenant.id) as session:
        for case in cases:
            await refresh(session, uuid.UUID(case["id"]))


async def dashboard(client: Client, **params: str) -> str:
    response = await client.get("/console/reports", params=params)
    assert response.status_code == 200, response.text
    return response.text


def card(page: str, metric: str) -> str:
    found = re.search(rf'data-metric="{metric}">.*?data-figure>([^<]+)<', page, re.S)
    assert found, f"no {metric} card"
    return found.group(1).strip()


def chart(page: str, chart_id: str) -> dict[str, Any]:
    found = re.search(rf'id="chart-{chart_id}" data-chart="([^"]+)"', page)
    assert found, f"no chart {chart_id}"
    data: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return data


def point(data: dict[str, Any], label: str, series: int = 0) -> dict[str, Any]:
    index = data["categories"].index(label)
    found: dict[str, Any] = data["series"][series]["data"][index]
    return found


async def listed(client: Client, url: str) -> set[str]:
    response = await client.get(url)
    assert response.status_code == 200, response.text
    return set(CASE_ROW.findall(response.text))


async def test_who_may_open_the_reports(client: Client, tenant: TenantHandle) -> None:
    for role in ("supervisor", "viewer"):
        user = await make_staff(client, tenant, role)
        await console_sign_in(client, tenant, user.email)
        page = await dashboard(client, **days_around_today())
        assert 'href="/console/reports"' in page  # in the navigation
        assert "报表" in page
        cases = await client.get("/console/reports/volume/cases", params=days_around_today())
        assert cases.status_code == 200
    for role in ("agent", "handler", "followup"):
        user = await make_staff(client, tenant, role)
        await console_sign_in(client, tenant, user.email)
        refused = await client.get("/console/reports", params=days_around_today())
        assert refused.status_code == 403
        assert "不允许的操作" in refused.text
        refused = await client.get("/console/reports/volume/cases", params=days_around_today())
        assert refused.status_code == 403
        queue = await client.get("/console/queues/mine")
        assert 'href="/console/reports"' not in queue.text
    await console_sign_in(client, tenant, tenant.admin_email)
    # Without a period the page goes to this month's URL, so the address says it.
    first = await client.get("/console/reports", follow_redirects=False)
    assert first.status_code == 303
    assert re.fullmatch(r"/console/reports\?period=\d{4}-\d{2}", first.headers["location"])
    assert (await client.get(first.headers["location"])).status_code == 200


async def test_figures_link_to_exactly_their_cases(
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    owner_engine: AsyncEngine,
) -> None:
    categories = await category_ids(client, tenant)
    phoned = [
        await new_case(
            client, tenant.headers, channel="phone", category_id=categories["logistics_delay"]
        )
        for _ in range(2)
    ]
    web = await new_case(
        client, tenant.headers, channel="web", category_id=categories["product_quality"]
    )
    elsewhere = await new_case(client, other_tenant.headers, channel="phone")
    await refresh_facts(owner_engine, tenant, *phoned, web)
    await refresh_facts(owner_engine, other_tenant, elsewhere)
    supervisor = await make_staff(client, tenant, "supervisor")
    await console_sign_in(client, tenant, supervisor.email)

    page = await dashboard(client, **days_around_today())
    assert card(page, "volume") == "3"
    assert [value for value in PII if value in page] == []
    # The channel shares: phone is two of three; its slice lists exactly those cases.
    channels = chart(page, "channels")
    phone = point(channels, "电话")
    assert phone["value"] == 2
    assert await listed(client, phone["url"]) == {c["id"] for c in phoned}
    assert await listed(client, point(channels, "网站表单")["url"]) == {web["id"]}
    # The Pareto chart of categories: logistics delay first, with its cases.
    pareto = chart(page, "pareto")
    assert pareto["categories"][0] == "物流延误"
    assert await listed(client, point(pareto, "物流延误")["url"]) == {c["id"] for c in phoned}
    # The trend's bar of today (received) lists all three; the card's link too.
    trend = chart(page, "trend")
    received = [p for p in trend["series"][0]["data"] if p["value"]]
    assert [p["value"] for p in received] == [3]
    assert await listed(client, received[0]["url"]) == {*(c["id"] for c in phoned), web["id"]}
    card_link = re.search(r'href="([^"]+)" data-metric="volume"', page)
    assert card_link
    everything = await listed(client, html.unescape(card_link.group(1)))
    assert everything == {*(c["id"] for c in phoned), web["id"]}
    assert elsewhere["id"] not in everything

    # The other tenant's staff following the same link see none of these cases; one of
    # them is the 404 page to them; a filter naming this tenant's department (or its
    # handler, or its category by id) is the 404 page too, on the dashboard and the cases.
    ours = await department_id(client, tenant, "logistics")
    await console_sign_in(client, other_tenant, other_tenant.admin_email)
    assert await listed(client, phone["url"]) == {elsewhere["id"]}
    assert (await client.get(f"/console/cases/{web['id']}")).status_code == 404
    span = days_around_today()
    foreign = await client.get("/console/reports/volume/cases", params={**span, "department": ours})
    assert CASE_ROW.findall(foreign.text) == []
    assert foreign.status_code == 404
    ids = {
        "department": ours,
        "handler": str(tenant.admin_id),
        "category": categories["logistics_delay"],
    }
    for name, value in ids.items():
        for path in ("/console/reports", "/console/reports/volume/cases"):
            refused = await client.get(path, params={**span, name: value})
            assert refused.status_code == 404, (name, path)
            assert refused.headers["content-type"].startswith("text/html")
            assert value not in refused.text


async def test_filters_stay_in_the_url(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    made = [
        await new_case(client, tenant.headers, channel="phone"),
        await new_case(client, tenant.headers, channel="web"),
    ]
    await refresh_facts(owner_engine, tenant, *made)
    await console_sign_in(client, tenant, tenant.admin_email)
    span = days_around_today()
    # The form leaves empty fields: they leave the URL.
    response = await client.get(
        "/console/reports",
        params={**span, "channel": "web", "kind": "", "severity": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["location"]).query) == {
        "from": [span["from"]], "to": [span["to"]], "channel": ["web"],
    }  # fmt: skip
    page = await dashboard(client, **span, channel="web", group_by="day")
    assert card(page, "volume") == "1"
    assert '<option value="web" selected>' in page
    # Every link behind a figure carries the period and the filter.
    link = re.search(r'href="([^"]+)" data-metric="volume"', page)
    assert link
    query = parse_qs(urlsplit(html.unescape(link.group(1))).query)
    assert query["channel"] == ["web"]
    assert query["from"] == [span["from"]]
    assert await listed(client, html.unescape(link.group(1))) == {made[1]["id"]}
    # A period picked as a month is kept as such.
    month = dt.datetime.now(dt.UTC).strftime("%Y-%m")
    monthly = await dashboard(client, period=month)
    assert f'href="/console/reports?period={month}" aria-current="page"' in monthly
    # Bad input is a clear refusal, never a 500.
    for bad in ({"period": "2026-13"}, {"from": "2026-10-05", "to": "2026-10-01"}):
        assert (await client.get("/console/reports", params=bad)).status_code == 422
    assert (
        await client.get("/console/reports", params={**span, "channel": "x" * 2000})
    ).status_code < 500
    unknown = await client.get("/console/reports/no_such_metric/cases", params=span)
    assert unknown.status_code == 404
    assert "页面不存在" in unknown.text or "找不到" in unknown.text


async def test_a_department_manager_sees_their_department(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    logistics = await department_id(client, tenant, "logistics")
    after_sales = await department_id(client, tenant, "after_sales")
    handler = await make_staff(client, tenant, "handler", name="李雷")
    ours = await new_case(client, tenant.headers, channel="phone")
    theirs = await new_case(client, tenant.headers, channel="phone")
    for case, department in ((ours, logistics), (theirs, after_sales)):
        await act(client, tenant.headers, case["id"], "verify", valid=True)
        await act(
            client,
            tenant.headers,
            case["id"],
            "assign",
            lead_department_id=department,
            handler_id=str(handler.id),
        )
    await act(client, handler.headers, ours["id"], "start")
    await act(client, handler.headers, ours["id"], "resolve", **RESOLVED)
    await refresh_facts(owner_engine, tenant, ours, theirs)
    manager = await make_staff(client, tenant, "supervisor", department_id=logistics)
    await console_sign_in(client, tenant, manager.email)

    page = await dashboard(client, **days_around_today())
    assert card(page, "volume") == "1"
    assert "仅本部门：物流部" in page
    link = re.search(r'href="([^"]+)" data-metric="volume"', page)
    assert link
    assert await listed(client, html.unescape(link.group(1))) == {ours["id"]}
    # The handler ranking: one resolved case is below the minimum sample, which is shown.
    ranking = page[page.index('id="ranking-title"') :]
    assert "解决工单不少于 5 件才参与排名" in ranking
    row = re.search(
        r"<tr class=\"text-secondary\">\s*<td>样本不足</td>\s*<th scope=\"row\">李雷</th>"
        r"\s*<td class=\"text-end\"><a href=\"([^\"]+)\"[^>]*>1</a>",
        ranking,
    )
    assert row, ranking[:2000]
    assert await listed(client, html.unescape(row.group(1))) == {ours["id"]}
    # Asking for the other department by filter shows nothing of it.
    other = await client.get(
        "/console/reports/volume/cases", params={**days_around_today(), "department": after_sales}
    )
    assert theirs["id"] not in set(CASE_ROW.findall(other.text))
    # The admin sees both.
    await console_sign_in(client, tenant, tenant.admin_email)
    assert card(await dashboard(client, **days_around_today()), "volume") == "2"


async def test_the_dashboard_in_both_languages(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    categories = await category_ids(client, tenant)
    made = await new_case(
        client, tenant.headers, channel="phone", category_id=categories["logistics_delay"]
    )
    await refresh_facts(owner_engine, tenant, made)
    await console_sign_in(client, tenant, tenant.admin_email)
    zh = await dashboard(client, **days_around_today())
    for text in ("报表", "投诉总量", "处理及时率", "渠道占比", "高频投诉问题", "处理人排名"):
        assert text in zh, text
    assert point(chart(zh, "channels"), "电话")["value"] == 1
    await client.get("/console/language/en", params={"next": "/console/"})
    en = await dashboard(client, **days_around_today())
    for text in ("Reports", "Cases received", "On-time rate", "Channels", "Top recurring problems"):
        assert text in en, text
    assert point(chart(en, "channels"), "Phone")["value"] == 1
    assert point(chart(en, "pareto"), "Logistics delay")["value"] == 1
    cases = await client.get(point(chart(en, "channels"), "Phone")["url"])
    assert "Cases received: Phone" in cases.text
