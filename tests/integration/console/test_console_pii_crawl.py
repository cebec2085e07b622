"""No plaintext customer PII anywhere in the console for staff without `pii`.

A tenant is seeded with customers (name, phone, e-mail) on cases in many states: new,
repeat, assigned and in progress with a customer-visible note, resolved with the survey
and result e-mails sent and a follow-up scheduled, reopened escalated, with an
attachment, with inbox notifications. Then each role without `pii` signs in and follows
every link reachable from the console's home page: `href`, `src`, `hx-get` (fetched as
htmx fetches it, with its target) and the `action` of GET forms, so queues, case pages,
the details form, print views, attachments, the board, the inbox and its count, the
follow-up desk and every fragment they poll. No response body may hold a customer's
name, phone or e-mail. A user with `pii` sees them masked too until they ask (the
reveal), and that reading is audited.
"""

from __future__ import annotations

import base64
import html
import uuid
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from console_support import act, console_sign_in, csrf_of, make_staff, new_case
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle

CUSTOMERS = (
    {"nickname": "小王", "name": "王小明", "phone": "13812345678", "email": "wang.xm@example.com"},
    {
        "nickname": "李女士",
        "name": "李春梅",
        "phone": "13987654321",
        "email": "chunmei@example.org",
    },
    {
        "nickname": "Ms T",
        "name": "Margaret Thompson",
        "phone": "13700001111",
        "email": "margaret.thompson@example.net",
    },
)
# What must never be shown: each customer's name, phone and e-mail whole, and the parts a
# mask hides (given names, the phone's digits after the prefix, the e-mail's local part).
PII = (
    *(c[field] for c in CUSTOMERS for field in ("name", "phone", "email")),
    *(c["phone"][3:] for c in CUSTOMERS),
    *(c["email"].split("@")[0] for c in CUSTOMERS),
    "小明",
    "春梅",
    "Thompson",
)
RESOLUTION = {
    "root_cause": "快递中转延误",
    "responsible_party": "third_party",
    "third_party": "某快递",
    "solution_type": "coupon",
    "result": "补偿 20 元优惠券",
}
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# Links the crawl does not follow: files the same for everyone, sign-out, the language
# switch (it only sets a cookie and comes back).
SKIPPED = ("/console/static/", "/console/logout", "/console/language/")
# Pages with links to the next period, and the next, ...: crawled once per path.
ENDLESS = "/console/reports"
MAX_PAGES = 600


class _Links(HTMLParser):
    """The console links of a page: (url, htmx target or None)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {key: value or "" for key, value in attrs}
        for attribute in ("href", "src"):
            if named.get(attribute):
                self.found.append((named[attribute], None))
        if named.get("hx-get"):
            self.found.append((named["hx-get"], named.get("hx-target") or named.get("id") or ""))
        if tag == "form" and named.get("method", "get").lower() == "get" and named.get("action"):
            self.found.append((named["action"], None))


@dataclass
class Crawl:
    """Every console URL one user reaches, and where PII showed up."""

    visited: set[tuple[str, bool]] = field(default_factory=set)
    leaks: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    reports: set[str] = field(default_factory=set)

    @property
    def paths(self) -> set[str]:
        return {urlsplit(url).path for url, _ in self.visited}


async def crawl(client: Client, pii: tuple[str, ...]) -> Crawl:
    """Follow every console link from the home page as the signed-in user of `client`."""
    seen = Crawl()
    queue: deque[tuple[str, str | None]] = deque([("/console/", None)])
    while queue:
        url, target = queue.popleft()
        key = (url, target is not None)
        if key in seen.visited:
            continue
        seen.visited.add(key)
        assert len(seen.visited) <= MAX_PAGES, "the crawl does not end: links keep changing"
        headers = {"HX-Request": "true", "HX-Target": target.lstrip("#")} if target else {}
        answer = await client.get(url, headers=headers, follow_redirects=False)
        seen.statuses[url] = answer.status_code
        assert answer.status_code < 500, f"GET {url}: {answer.status_code}"
        if answer.status_code in (301, 302, 303, 307):
            queue.append((urljoin(url, answer.headers["location"]), None))
            continue
        if answer.status_code == 204 and "stamp=" in url:
            # A live poll with the current stamp: nothing to draw. Ask as a stale page would.
            queue.append((url.split("?")[0], target))
            continue
        body = answer.text if answer.headers.get("content-type", "").startswith("text") else ""
        raw = answer.content
        for value in pii:
            if value in body or value.encode() in raw:
                seen.leaks.append(f"{value!r} in GET {url}" + (" (htmx)" if target else ""))
        if not body:
            continue
        parser = _Links()
        parser.feed(body)
        for link, link_target in parser.found:
            absolute = urljoin(url, html.unescape(link)).split("#")[0]
            parts = urlsplit(absolute)
            if parts.netloc or not parts.path.startswith("/console"):
                continue
            if parts.path.startswith(SKIPPED):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.path.startswith(ENDLESS):
                # The reports' previous/next period links go on for ever: each report
                # page once, with the first period that reached it.
                if parts.path in seen.reports:
                    continue
                seen.reports.add(parts.path)
            queue.append((local, link_target))
    return seen


@dataclass
class Seeded:
    cases: dict[str, dict[str, Any]]
    users: dict[str, Any]


async def _seed(client: Client, tenant: TenantHandle) -> Seeded:
    """Cases in many states for CUSTOMERS, and a user per role without `pii`."""
    admin = tenant.headers
    made = await client.post(
        "/api/v1/departments/",
        headers=admin,
        json={"code": f"d-{uuid.uuid4().hex[:6]}", "name_en": "Parcels", "name_zh": "物流部"},
    )
    assert made.status_code == 201, made.text
    department = made.json()["id"]
    users = {
        role: await make_staff(client, tenant, role, department_id=department, name=f"{role} staff")
        for role in ("viewer", "agent", "handler", "supervisor", "followup")
    }
    first, second, third = CUSTOMERS
    cases = {"new": await new_case(client, admin, customer=dict(first))}
    cases["repeat"] = await new_case(client, admin, customer=dict(first), title="又延误了")
    uploaded = await client.post(
        f"/api/v1/cases/{cases['new']['id']}/attachments/",
        headers=admin,
        files={"file": ("photo.png", PNG, "image/png")},
    )
    assert uploaded.status_code == 201, uploaded.text

    async def worked(customer: dict[str, str], title: str) -> dict[str, Any]:
        case = await new_case(client, admin, customer=dict(customer), title=title)
        await act(client, admin, case["id"], "verify", valid=True)
        await act(
            client,
            admin,
            case["id"],
            "assign",
            lead_department_id=department,
            handler_id=str(users["handler"].id),
        )
        handler = users["handler"].headers
        await act(client, handler, case["id"], "start")
        await act(
            client, handler, case["id"], "progress", note="已联系快递。", visibility="customer"
        )
        return case

    cases["in_progress"] = await worked(second, "包装破损")
    resolved = await worked(second, "退款未到账")
    await act(client, users["handler"].headers, resolved["id"], "resolve", **RESOLUTION)
    await act(client, admin, resolved["id"], "schedule_followup")
    followups = await client.get("/api/v1/followups", headers=admin)
    assert followups.status_code == 200, followups.text
    for task in followups.json()["items"]:
        given = await client.post(
            f"/api/v1/followups/{task['id']}/assign",
            headers=admin,
            json={"assignee_id": str(users["followup"].id)},
        )
        assert given.status_code == 200, given.text
    cases["resolved"] = resolved
    reopened = await worked(third, "Refund never arrived")
    await act(client, users["handler"].headers, reopened["id"], "resolve", **RESOLUTION)
    await act(
        client, admin, reopened["id"], "feedback", satisfaction="unsatisfied", reason="没解决"
    )
    cases["reopened"] = reopened
    return Seeded(cases, users)


@pytest.fixture
async def seeded(client: Client, tenant: TenantHandle) -> Seeded:
    return await _seed(client, tenant)


ROLES = ("viewer", "agent", "handler", "supervisor", "followup")


async def test_staff_without_pii_never_see_a_customers_details(
    client: Client, tenant: TenantHandle, seeded: Seeded
) -> None:
    leaks = {}
    for role in ROLES:
        await console_sign_in(client, tenant, seeded.users[role].email)
        found = await crawl(client, PII)
        if found.leaks:
            leaks[role] = found.leaks
        _reached_every_screen(found, seeded, role)
        if role == "agent":
            await _agent_screens(client, seeded)
    assert not leaks, f"staff without pii see customers' details: {leaks}"


def _reached_every_screen(found: Crawl, seeded: Seeded, role: str) -> None:
    """The crawl reached every screen `role` may open, and the case pages' parts."""
    paths = found.paths
    for case in seeded.cases.values():
        assert f"/console/cases/{case['id']}" in paths, f"{role} never reached {case['number']}"
        assert f"/console/cases/{case['id']}/print" in paths
        assert (f"/console/cases/{case['id']}/live", True) in found.visited
    assert any("/attachments/" in path for path in paths), role
    assert {"/console/inbox", "/console/inbox/count", "/console/queues/reopened"} <= paths
    if role in ("agent", "handler", "supervisor"):
        assert any(path.endswith("/details") for path in paths), f"{role}: no details form"
    if role == "supervisor":
        assert {"/console/board", "/console/followups"} <= paths
    if role == "followup":
        assert "/console/followups" in paths
    if role == "agent":
        assert "/console/cases/new" in paths


async def _agent_screens(client: Client, seeded: Seeded) -> None:
    """What an agent reaches only by posting: the customer lookup of the register form
    (an htmx POST) recalls the known customer masked; the result page after registering."""
    page = await client.get("/console/cases/new")
    looked_up = await client.post(
        "/console/cases/new/customer",
        data={"customer.phone": CUSTOMERS[0]["phone"], "_csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert looked_up.status_code == 200, looked_up.text
    assert seeded.cases["new"]["number"] in looked_up.text  # the known customer's cases
    assert not [value for value in PII if value in looked_up.text], looked_up.text
    for case in seeded.cases.values():
        done = await client.get(f"/console/cases/{case['id']}/registered")
        assert done.status_code == 200, done.text
        assert not [value for value in PII if value in done.text], case["number"]


async def _pii_reads(owner_engine: AsyncEngine, tenant: TenantHandle) -> int:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        count = await conn.scalar(
            text("SELECT count(*) FROM audit_entries WHERE action = 'customer.pii_read'")
        )
    return int(count or 0)


async def test_pii_holders_see_details_masked_until_the_audited_reveal(
    client: Client, tenant: TenantHandle, seeded: Seeded, owner_engine: AsyncEngine
) -> None:
    holder = await make_staff(client, tenant, "supervisor", pii=True)
    await console_sign_in(client, tenant, holder.email)
    case = seeded.cases["reopened"]
    customer = CUSTOMERS[2]
    before = await _pii_reads(owner_engine, tenant)
    for path in ("", "/print", "/details", "?edit=true"):
        shown = await client.get(f"/console/cases/{case['id']}{path}")
        assert shown.status_code == 200, shown.text
        assert not [v for v in PII if v in shown.text], f"{path or 'page'} shows plaintext"
    page = await client.get(f"/console/cases/{case['id']}")
    assert "显示联系方式" in page.text
    assert await _pii_reads(owner_engine, tenant) == before, "looking was audited as reading"

    revealed = await client.post(
        f"/console/cases/{case['id']}/customer",
        data={"_csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert revealed.status_code == 200, revealed.text
    for value in (customer["name"], customer["phone"], customer["email"]):
        assert value in revealed.text
    assert await _pii_reads(owner_engine, tenant) == before + 1
