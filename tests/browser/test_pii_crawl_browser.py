"""A viewer without `pii` crawls every console page reachable from the home page in
Chromium; no response the browser receives (pages, htmx fragments, polls) carries a
customer's name, phone or e-mail in plaintext."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urldefrag, urlsplit

import httpx
from browser_support import NewContext, Problems
from playwright.async_api import Page, Response, expect

from support import PASSWORD, TenantHandle

CUSTOMERS = [
    {"name": "王小明", "phone": "13812345678", "email": "wang.xiaoming@example.com"},
    {"name": "Jennifer Alvarez", "phone": "13987654321", "email": "jalvarez@example.org"},
]
# What must never be seen: each value whole, and the parts a mask keeps hidden.
SECRETS = [
    "王小明",
    "小明",
    "13812345678",
    "12345678",
    "wang.xiaoming",
    "Jennifer Alvarez",
    "Alvarez",
    "13987654321",
    "87654321",
    "jalvarez",
]
# Pages that end the session or only switch the language are not crawled.
SKIPPED = re.compile(r"^/console/(logout|language/|static/)")
MAX_PAGES = 80
ENDLESS = "/console/reports"


async def _cases(api: httpx.AsyncClient, tenant: TenantHandle) -> list[str]:
    made = []
    for number, customer in enumerate(CUSTOMERS):
        created = await api.post(
            "/api/v1/cases/",
            headers=tenant.headers,
            json={
                "kind": "complaint",
                "channel": "phone",
                "title": f"退款未到账 {number}",
                "description": "七天前申请退款，至今未到账。",
                "customer": {"nickname": f"客户{number}", **customer},
            },
        )
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
    # One of them further along, so its page shows clocks, timeline and notices.
    verified = await api.post(
        f"/api/v1/cases/{made[0]}/actions/verify", headers=tenant.headers, json={"valid": True}
    )
    assert verified.status_code == 200, verified.text
    return made


async def _viewer(api: httpx.AsyncClient, tenant: TenantHandle) -> str:
    email = f"viewer-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    made = await api.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": email,
            "display_name": "只读查看",
            "password": PASSWORD,
            "roles": ["viewer"],
            "permissions": [],
        },
    )
    assert made.status_code == 201, made.text
    return email


def _console_paths(hrefs: list[str]) -> list[str]:
    found = []
    for href in hrefs:
        path = urldefrag(href)[0]
        parts = urlsplit(path)
        if parts.netloc or not parts.path.startswith("/console/"):
            continue
        if SKIPPED.match(parts.path):
            continue
        found.append(path)
    return found


async def _links(page: Page) -> tuple[list[str], list[str]]:
    """Links to pages, and what is fetched rather than opened: htmx fragments and
    polls, attachments and downloads."""
    pages: list[str] = await page.eval_on_selector_all(
        "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
    )
    fetched: list[str] = await page.eval_on_selector_all(
        "[hx-get], a[download]",
        "els => els.map(e => e.getAttribute('hx-get') || e.getAttribute('href'))",
    )
    opened = [p for p in _console_paths(pages) if "/attachments/" not in p]
    fetched_paths = _console_paths(fetched) + [
        p for p in _console_paths(pages) if "/attachments/" in p
    ]
    return opened, fetched_paths


async def test_a_viewer_without_pii_crawls_the_console_and_sees_no_contact_details(
    new_context: NewContext, api: httpx.AsyncClient, tenant: TenantHandle
) -> None:
    case_ids = await _cases(api, tenant)
    email = await _viewer(api, tenant)
    context = await new_context()
    page = await context.new_page()
    problems = Problems(page)
    bodies: list[tuple[str, str]] = []

    async def keep(response: Response) -> None:
        if "/console/static/" in response.url or response.status in (204, 301, 302, 303):
            return
        try:
            bodies.append((response.url, await response.text()))
        except Exception:  # a body the browser already dropped (a navigation moved on)
            return

    page.on("response", keep)
    await page.goto("/console/login")
    await page.get_by_label("组织代码", exact=True).fill(tenant.slug)
    await page.get_by_label("电子邮箱", exact=True).fill(email)
    await page.get_by_label("密码", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="登录", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/console/$"))

    queue = ["/console/", *(f"/console/cases/{case_id}" for case_id in case_ids)]
    seen: set[str] = set()
    reports: set[str] = set()
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        answer = await page.goto(path)
        assert answer is not None
        assert answer.status < 500, f"{path}: {answer.status}"
        await page.wait_for_load_state("networkidle")
        opened, fetched = await _links(page)
        for link in opened:
            path = urlsplit(link).path
            if link in seen or (path.startswith(ENDLESS) and path in reports):
                continue  # the reports' period links go on for ever: each page once
            if path.startswith(ENDLESS):
                reports.add(path)
            queue.append(link)
        for link in fetched:
            if link in seen:
                continue
            seen.add(link)
            got = await context.request.get(link)
            assert got.status < 500, f"{link}: {got.status}"
            bodies.append((link, (await got.body()).decode("utf-8", "replace")))

    visited = {urlsplit(p).path for p in seen}
    # The crawl reached the screens a viewer has, and the cases through the queues.
    assert "/console/queues/all" in {p.rstrip("/") for p in visited} or any(
        p.startswith("/console/queues/") for p in visited
    ), visited
    assert any(p.startswith("/console/cases/") for p in visited), visited
    assert len(bodies) >= len(seen)
    leaks = [(url, secret) for url, body in bodies for secret in SECRETS if secret in body]
    assert leaks == [], leaks
    # Not vacuous: the masked forms are on the case pages.
    shown = "\n".join(body for _, body in bodies)
    assert "138****5678" in shown
    assert problems.seen == []
