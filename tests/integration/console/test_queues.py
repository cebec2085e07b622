"""The queues (`/console/queues/{name}`) over HTTP: each queue lists its cases (made
through the API), filters live in the URL, pages carry the total, customers stay masked
without `pii`, bulk assign goes through the lifecycle for supervisors only, titles are
escaped, another tenant's cases never show, and the live poll answers 204 when nothing
changed."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from console_support import (
    PII,
    Staff,
    act,
    console_sign_in,
    csrf_of,
    department_id,
    make_staff,
    new_case,
)

from support import Client, TenantHandle

ROW = re.compile(r'data-queue-row data-case-id="([0-9a-f-]+)"')
RESOLVED = {
    "root_cause": "courier delay",
    "responsible_party": "third_party",
    "third_party": "the courier",
    "solution_type": "apology",
    "result": "apologised and refunded the shipping",
}


def listed(page: str) -> set[str]:
    return set(ROW.findall(page))


def ago(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(**delta)).isoformat()


async def queue(client: Client, name: str, **params: str) -> str:
    response = await client.get(f"/console/queues/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.text


async def assigned_case(
    client: Client, tenant: TenantHandle, handler: Staff, department: str, **overrides: str
) -> str:
    case_id = str((await new_case(client, tenant.headers, **overrides))["id"])
    await act(client, tenant.headers, case_id, "verify", valid=True)
    await act(
        client,
        tenant.headers,
        case_id,
        "assign",
        lead_department_id=department,
        handler_id=str(handler.id),
    )
    return case_id


async def test_each_queue_lists_its_cases(client: Client, tenant: TenantHandle) -> None:
    logistics = await department_id(client, tenant)
    handler = await make_staff(client, tenant, "handler", department_id=logistics)
    mine = await assigned_case(client, tenant, handler, logistics, title="Mine")
    unassigned = str((await new_case(client, tenant.headers, title="New one"))["id"])
    waiting = str((await new_case(client, tenant.headers, title="Waiting"))["id"])
    await act(client, tenant.headers, waiting, "request_info", question="Which order?")
    # Received three days ago: its first reply (24 hours) is long overdue.
    breached = str((await new_case(client, tenant.headers, received_at=ago(days=3)))["id"])
    # Received 21 hours ago: the reply falls due within the next few hours.
    due_soon = str((await new_case(client, tenant.headers, received_at=ago(hours=21)))["id"])
    reopened = await assigned_case(client, tenant, handler, logistics, title="Reopened")
    followup = await assigned_case(client, tenant, handler, logistics, title="Resolved")
    for case_id in (reopened, followup):
        await act(client, tenant.headers, case_id, "start")
        await act(client, tenant.headers, case_id, "resolve", **RESOLVED)
    await act(client, tenant.headers, reopened, "reopen", reason="the parcel is still missing")

    await console_sign_in(client, tenant, handler.email)
    assert listed(await queue(client, "mine")) == {mine, reopened}
    assert listed(await queue(client, "department")) == {mine, reopened}
    assert listed(await queue(client, "unassigned")) == {unassigned, waiting, breached, due_soon}
    assert listed(await queue(client, "breached")) == {breached}
    assert listed(await queue(client, "due-soon")) == {due_soon}
    assert listed(await queue(client, "waiting")) == {waiting}
    assert listed(await queue(client, "reopened")) == {reopened}
    assert listed(await queue(client, "followups")) == {followup}
    everything = await queue(client, "all")
    assert len(listed(everything)) == 7
    # Next due first: the breached case leads, the one due soon follows.
    order = ROW.findall(everything)
    assert order[:2] == [breached, due_soon]
    assert "7 件" in everything
    # The header offers what a handler may open, not the board or the register screen.
    assert 'href="/console/queues/mine"' in everything
    assert 'href="/console/inbox"' in everything
    assert 'href="/console/board"' not in everything
    assert 'href="/console/cases/new"' not in everything

    missing = await client.get("/console/queues/nonsense")
    assert missing.status_code == 404
    assert "页面不存在" in missing.text


async def test_filters_and_search_stay_in_the_url(client: Client, tenant: TenantHandle) -> None:
    kettle = str((await new_case(client, tenant.headers, title="Broken kettle lid"))["id"])
    parcel = str((await new_case(client, tenant.headers, title="Late parcel"))["id"])
    await act(client, tenant.headers, parcel, "verify", valid=True)
    await console_sign_in(client, tenant, tenant.admin_email)

    found = await queue(client, "all", q="kettle")
    assert listed(found) == {kettle}
    assert 'value="kettle"' in found  # the search box keeps the words
    verified = await queue(client, "all", status="verified")
    assert listed(verified) == {parcel}
    assert '<option value="verified" selected>' in verified
    assert listed(await queue(client, "all", status="registered", q="parcel")) == set()
    # An empty form field leaves the URL: the bookmarkable address has only what was chosen.
    response = await client.get(
        "/console/queues/all",
        params={"q": "kettle", "severity": "", "assignee": ""},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/queues/all?q=kettle"
    # A filter the list API refuses is refused here too, with the console's page.
    bad = await client.get("/console/queues/all", params={"status": "nonsense"})
    assert bad.status_code == 400
    assert "text/html" in bad.headers["content-type"]


async def test_paging_carries_the_total(client: Client, tenant: TenantHandle) -> None:
    made = {
        str((await new_case(client, tenant.headers, title=f"Case {n}"))["id"]) for n in range(5)
    }
    await console_sign_in(client, tenant, tenant.admin_email)
    seen: set[str] = set()
    page = await queue(client, "all", limit="2")
    pages = 1
    while True:
        assert "5 件" in page
        rows = listed(page)
        assert rows
        assert not rows & seen
        seen |= rows
        found = re.search(r'<a href="([^"]+)" class="ms-auto">', page)
        if not found:
            break
        response = await client.get(found.group(1).replace("&amp;", "&"))
        assert response.status_code == 200
        page = response.text
        pages += 1
    assert seen == made
    assert pages == 3


@pytest.mark.parametrize("pii", [False, True])
async def test_customers_are_masked_without_pii(
    client: Client, tenant: TenantHandle, pii: bool
) -> None:
    await new_case(client, tenant.headers)
    viewer = await make_staff(client, tenant, "agent", pii=pii)
    await console_sign_in(client, tenant, viewer.email)
    for name in ("all", "unassigned", "open"):
        page = await queue(client, name)
        shown = [value for value in PII if value in page]
        if pii:
            assert "王小明" in shown
        else:
            assert shown == [], f"{name}: plaintext PII {shown}"
            assert "王**" in page or "王*" in page  # masked, not left out
    live = await client.get(
        "/console/queues/all", headers={"HX-Request": "true", "HX-Target": "queue-results"}
    )
    assert live.status_code == 200
    assert ("王小明" in live.text) is pii
    assert "13812345678" not in live.text or pii


async def test_bulk_assign_by_a_supervisor_reports_each_case(
    client: Client, tenant: TenantHandle
) -> None:
    logistics = await department_id(client, tenant)
    handler = await make_staff(client, tenant, "handler", name="Li Lei")
    ready = []
    for title in ("First", "Second"):
        case_id = str((await new_case(client, tenant.headers, title=title))["id"])
        await act(client, tenant.headers, case_id, "verify", valid=True)
        ready.append(case_id)
    fresh = await new_case(client, tenant.headers, title="Not verified yet")
    supervisor = await make_staff(client, tenant, "supervisor")
    await console_sign_in(client, tenant, supervisor.email)
    page = await queue(client, "unassigned")
    assert 'id="bulk-assign"' in page
    assert "Li Lei" in page  # the handler picker

    form = {
        "_csrf_token": csrf_of(page),
        "lead_department_id": logistics,
        "handler_id": str(handler.id),
        "case_id": [*ready, fresh["id"]],
    }
    response = await client.post("/console/queues/unassigned/assign", data=form)
    assert response.status_code == 200, response.text
    assert response.text.count('class="assign-ok"') == 2
    assert response.text.count('class="assign-refused"') == 1
    assert fresh["number"] in response.text
    assert "不能分派" in response.text
    for case_id in ready:
        case = (await client.get(f"/api/v1/cases/{case_id}", headers=tenant.headers)).json()
        assert case["handler_id"] == str(handler.id)
        assert case["status"] == "assigned"
    unchanged = (await client.get(f"/api/v1/cases/{fresh['id']}", headers=tenant.headers)).json()
    assert unchanged["handler_id"] is None
    assert listed(await queue(client, "unassigned")) == {fresh["id"]}

    # htmx: the results alone, and the queue is told to redraw.
    again = await client.post(
        "/console/queues/unassigned/assign", data=form, headers={"HX-Request": "true"}
    )
    assert again.status_code == 200
    assert again.headers["hx-trigger"] == "closeloop:changed"
    assert "<html" not in again.text

    # Nothing chosen: a 400 naming the problem.
    empty = await client.post(
        "/console/queues/unassigned/assign",
        data={k: v for k, v in form.items() if k != "case_id"},
    )
    assert empty.status_code == 400
    assert "请至少选择一个工单" in empty.text


async def test_bulk_assign_is_refused_to_an_agent_and_without_the_csrf_token(
    client: Client, tenant: TenantHandle
) -> None:
    logistics = await department_id(client, tenant)
    handler = await make_staff(client, tenant, "handler")
    case = await new_case(client, tenant.headers)
    await act(client, tenant.headers, case["id"], "verify", valid=True)
    agent = await make_staff(client, tenant, "agent")
    await console_sign_in(client, tenant, agent.email)
    page = await queue(client, "unassigned")
    assert 'id="bulk-assign"' not in page
    assert 'name="case_id"' not in page
    form = {
        "_csrf_token": csrf_of(page),
        "lead_department_id": logistics,
        "handler_id": str(handler.id),
        "case_id": case["id"],
    }
    refused = await client.post("/console/queues/unassigned/assign", data=form)
    assert refused.status_code == 403
    assert "不允许的操作" in refused.text

    await console_sign_in(client, tenant, tenant.admin_email)
    no_token = await client.post(
        "/console/queues/unassigned/assign", data={**form, "_csrf_token": "forged"}
    )
    assert no_token.status_code == 403
    after = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert after["handler_id"] is None


async def test_a_script_in_a_title_is_shown_as_text(client: Client, tenant: TenantHandle) -> None:
    await new_case(client, tenant.headers, title="<script>alert(1)</script>")
    await console_sign_in(client, tenant, tenant.admin_email)
    page = await queue(client, "all")
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_another_tenants_cases_are_never_listed(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    ours = str((await new_case(client, tenant.headers))["id"])
    theirs = await new_case(client, other_tenant.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    for name in ("all", "unassigned", "open"):
        page = await queue(client, name)
        assert listed(page) == {ours}
        assert theirs["id"] not in page
    # Not by id in the URL either: a filter on their admin is the 404 page (as any other
    # tenant's id; it was an empty list before filters checked their ids).
    refused = await client.get("/console/queues/all", params={"assignee": other_tenant.admin_id})
    assert refused.status_code == 404
    assert theirs["id"] not in refused.text


async def test_the_live_poll_answers_204_until_something_changes(
    client: Client, tenant: TenantHandle
) -> None:
    await new_case(client, tenant.headers, title="First")
    await console_sign_in(client, tenant, tenant.admin_email)
    page = await queue(client, "unassigned")
    stamp = re.search(r'id="queue-results".*?data-live-stamp="([0-9a-f]+)"', page, re.S)
    assert stamp
    poll = {"HX-Request": "true", "HX-Target": "queue-results", "X-Live-Stamp": stamp.group(1)}
    quiet = await client.get("/console/queues/unassigned", headers=poll)
    assert quiet.status_code == 204
    second = await new_case(client, tenant.headers, title="Second")
    changed = await client.get("/console/queues/unassigned", headers=poll)
    assert changed.status_code == 200
    assert second["id"] in changed.text
    assert "<html" not in changed.text  # the fragment alone
    assert 'id="queue-results"' in changed.text


async def test_a_signed_out_browser_goes_to_the_sign_in_page(client: Client) -> None:
    response = await client.get("/console/queues/mine", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=")
    poll = await client.get(
        "/console/queues/mine", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert poll.status_code == 401
    assert poll.headers["hx-redirect"].startswith("/console/login")
