"""The case page and the follow-up workbench over HTTP: what each user is offered, the
version check, CSRF, escaping, no plaintext PII without `pii`, the audited reveal."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from case_screen_support import (
    EMAIL,
    NAME,
    PHONE,
    SCRIPT_TITLE,
    act,
    department,
    forms_offered,
    make_case,
    post_form,
)
from console_support import CSRF_META, Staff, console_sign_in, make_staff
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.identity.models import Role
from support import Client, TenantHandle, make_tenant

RESOLUTION = {
    "root_cause": "Carrier delay",
    "responsible_party": "third_party",
    "third_party": "SF Express",
    "solution_type": "coupon",
    "result": "Coupon of 20 yuan sent",
}


@pytest.fixture(autouse=True)
def _see_redirects(client: Client) -> None:
    client.follow_redirects = False


async def _assigned(
    client: Client, tenant: TenantHandle, handler: Staff, **overrides: Any
) -> dict[str, Any]:
    case = await make_case(client, tenant.headers, **overrides)
    await act(client, tenant.headers, case["id"], "verify", {"valid": True})
    await act(
        client,
        tenant.headers,
        case["id"],
        "assign",
        {"lead_department_id": await department(client, tenant), "handler_id": str(handler.id)},
    )
    return case


async def _resolved(client: Client, tenant: TenantHandle, handler: Staff) -> dict[str, Any]:
    case = await _assigned(client, tenant, handler)
    await act(client, handler.headers, case["id"], "start")
    await act(client, handler.headers, case["id"], "resolve", RESOLUTION)
    return case


async def _page(client: Client, case_id: object, expect: int = 200, suffix: str = "") -> str:
    response = await client.get(f"/console/cases/{case_id}{suffix}")
    assert response.status_code == expect, response.text
    return response.text


async def test_the_page_shows_every_clock_and_every_timeline_entry(
    client: Client, tenant: TenantHandle
) -> None:
    handler = await make_staff(client, tenant, Role.HANDLER)
    case = await _assigned(client, tenant, handler)
    await act(client, handler.headers, case["id"], "start")
    await act(
        client,
        handler.headers,
        case["id"],
        "progress",
        {"note": "Called the carrier", "visibility": "customer"},
    )
    await console_sign_in(client, tenant, tenant.admin_email)
    html = await _page(client, case["id"])

    sla = (await client.get(f"/api/v1/cases/{case['id']}/sla", headers=tenant.headers)).json()
    current = [c for c in sla["clocks"] if c["cycle"] == sla["cycle"]]
    assert current, "the default policy starts clocks"
    shown_clocks = re.findall(r'<li class="[^"]*clock" data-state="([a-z]+)"', html)
    assert sorted(shown_clocks) == sorted(c["state"] for c in current)
    running = [c for c in current if c["state"] in ("running", "breached")]
    assert len(re.findall(r"<time datetime=\"[^\"]+\" data-due=\"[^\"]+\"", html)) == len(running)

    timeline = (
        await client.get(f"/api/v1/cases/{case['id']}/timeline", headers=tenant.headers)
    ).json()["items"]
    assert html.count('data-kind="event"') == len(timeline)
    assert html.count('data-kind="sla"') == len(sla["events"])
    assert 'data-kind="event" data-visibility="customer"' in html
    assert "Called the carrier" in html
    assert case["number"] in html


async def test_another_tenants_case_is_the_same_404_page_as_an_unknown_id(
    client: Client, tenant: TenantHandle
) -> None:
    other = await make_tenant(client, "globex")
    theirs = await make_case(client, other.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    foreign = await client.get(f"/console/cases/{theirs['id']}")
    unknown = await client.get(f"/console/cases/{uuid.uuid4()}")
    assert foreign.status_code == unknown.status_code == 404

    def body(html: str) -> str:
        return CSRF_META.sub("", html)

    assert body(foreign.text) == body(unknown.text)
    assert theirs["number"] not in foreign.text
    for suffix in ("/print", "/details"):
        assert (await client.get(f"/console/cases/{theirs['id']}{suffix}")).status_code == 404
    refused = await post_form(
        client, f"/console/cases/{theirs['id']}/actions/annotate", {"note": "hello"}
    )
    assert refused.status_code == 404


async def test_actions_offered_follow_the_role_and_the_status(
    client: Client, tenant: TenantHandle
) -> None:
    agent = await make_staff(client, tenant, Role.AGENT)
    handler = await make_staff(client, tenant, Role.HANDLER)
    supervisor = await make_staff(client, tenant, Role.SUPERVISOR)
    registered = await make_case(client, tenant.headers)
    assigned = await _assigned(client, tenant, handler)

    await console_sign_in(client, tenant, agent.email)
    assert forms_offered(await _page(client, registered["id"])) == [
        "verify",
        "invalidate",
        "request_info",
        "annotate",
    ]
    assert forms_offered(await _page(client, assigned["id"])) == [
        "assign",
        "request_info",
        "annotate",
    ]
    await console_sign_in(client, tenant, handler.email)
    handler_page = await _page(client, assigned["id"])
    assert forms_offered(handler_page) == ["start", "progress", "request_info", "annotate"]
    assert "Edit details" in handler_page or "编辑详情" in handler_page
    await console_sign_in(client, tenant, supervisor.email)
    assert forms_offered(await _page(client, assigned["id"])) == [
        "start",
        "assign",
        "progress",
        "request_info",
        "annotate",
        "merge",
    ]


async def test_an_archived_case_offers_no_edit_but_annotating_still_works(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    await act(client, tenant.headers, case["id"], "invalidate", {"explanation": "Spam"})
    await act(client, tenant.headers, case["id"], "archive")
    await console_sign_in(client, tenant, tenant.admin_email)
    html = await _page(client, case["id"])
    assert forms_offered(html) == ["annotate"]
    assert f'/console/cases/{case["id"]}/details"' not in html
    assert (await client.get(f"/console/cases/{case['id']}?edit=true")).text.count(
        'name="title"'
    ) == 0
    done = await post_form(
        client,
        f"/console/cases/{case['id']}/actions/annotate",
        {"note": "Checked by audit"},
    )
    assert done.status_code == 303
    assert "Checked by audit" in await _page(client, case["id"])
    refused = await post_form(
        client,
        f"/console/cases/{case['id']}/details",
        {"version": str(case["version"] + 3), "title": "New title", "description": "x"},
    )
    assert refused.status_code == 409
    got = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert got["title"] == case["title"]


async def test_a_stale_edit_shows_what_changed_and_overwrites_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    form = await _page(client, case["id"], suffix="/details")  # the fragment htmx swaps in
    assert "<html" not in form
    version = re.search(r'name="version" value="(\d+)"', form)
    assert version
    meanwhile = await client.patch(
        f"/api/v1/cases/{case['id']}",
        headers={**tenant.headers, "If-Match": f'"{case["version"]}"'},
        json={"title": "Changed by a colleague"},
    )
    assert meanwhile.status_code == 200, meanwhile.text
    stale = await post_form(
        client,
        f"/console/cases/{case['id']}/details",
        {
            "version": version.group(1),
            "title": "My own title",
            "description": case["description"],
            "severity_id": "",
            "category_id": "",
            "problem_place": "",
        },
    )
    assert stale.status_code == 409
    assert "Changed by a colleague" in stale.text
    assert "My own title" in stale.text
    assert 'class="conflict"' in stale.text
    got = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert got["title"] == "Changed by a colleague"
    assert got["version"] == case["version"] + 1

    fresh = await post_form(
        client,
        f"/console/cases/{case['id']}/details",
        {
            "version": str(got["version"]),
            "title": "My own title",
            "description": case["description"],
        },
    )
    assert fresh.status_code == 303
    got = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert got["title"] == "My own title"


async def test_a_form_without_the_csrf_token_is_refused(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    refused = await client.post(
        f"/console/cases/{case['id']}/actions/annotate", data={"note": "no token"}
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "no token" not in await _page(client, case["id"])


async def test_a_script_in_the_title_is_shown_as_text(client: Client, tenant: TenantHandle) -> None:
    case = await make_case(client, tenant.headers, title=SCRIPT_TITLE)
    await console_sign_in(client, tenant, tenant.admin_email)
    for suffix in ("", "/print", "?edit=true"):
        html = await _page(client, case["id"], suffix=suffix)
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_a_viewer_without_pii_sees_no_contact_details_anywhere(
    client: Client, tenant: TenantHandle
) -> None:
    handler = await make_staff(client, tenant, Role.HANDLER)
    viewer = await make_staff(client, tenant, Role.VIEWER)
    case = await _assigned(client, tenant, handler)
    await console_sign_in(client, tenant, viewer.email)
    pages = [
        await _page(client, case["id"]),
        await _page(client, case["id"], suffix="/print"),
        await _page(client, case["id"], suffix="?edit=true"),
    ]
    fragment = await client.get(
        f"/console/cases/{case['id']}/details", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 403  # viewers do not edit
    pages.append(fragment.text)
    reveal = await post_form(
        client, f"/console/cases/{case['id']}/customer", {}, headers={"HX-Request": "true"}
    )
    assert reveal.status_code == 403
    pages.append(reveal.text)
    for html in pages:
        for secret in (PHONE, NAME, EMAIL, PHONE[-4:] + PHONE[:3]):
            assert secret not in html
    assert "小王" in pages[0]


async def test_showing_the_contact_details_is_audited(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    supervisor = await make_staff(client, tenant, Role.SUPERVISOR, pii=True)
    case = await make_case(client, tenant.headers)
    await console_sign_in(client, tenant, supervisor.email)
    before = await _pii_reads(owner_engine, tenant.id)
    html = await _page(client, case["id"])
    assert PHONE not in html
    assert EMAIL not in html
    assert await _pii_reads(owner_engine, tenant.id) == before
    shown = await post_form(
        client,
        f"/console/cases/{case['id']}/customer",
        {},
        page=f"/console/cases/{case['id']}",
        headers={"HX-Request": "true"},
    )
    assert shown.status_code == 200, shown.text
    assert PHONE in shown.text
    assert EMAIL in shown.text
    assert NAME in shown.text
    assert "<html" not in shown.text  # the fragment only
    assert await _pii_reads(owner_engine, tenant.id) == before + 1


async def _pii_reads(owner_engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM audit_entries WHERE action = 'customer.pii_read' "
                "AND tenant_id = :t"
            ),
            {"t": tenant_id},
        )
        return int(found or 0)


async def test_a_refused_action_names_the_problem_and_changes_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    handler = await make_staff(client, tenant, Role.HANDLER)
    case = await _assigned(client, tenant, handler)
    await act(client, handler.headers, case["id"], "start")
    await console_sign_in(client, tenant, handler.email)
    before = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    refused = await post_form(
        client,
        f"/console/cases/{case['id']}/actions/resolve",
        {"root_cause": "Carrier", "responsible_party": "nobody", "solution_type": "x"},
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    after = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert after["version"] == before["version"]
    assert after["status"] == "in_progress"


async def test_the_handler_works_the_case_through_the_page(
    client: Client, tenant: TenantHandle
) -> None:
    handler = await make_staff(client, tenant, Role.HANDLER)
    case = await _assigned(client, tenant, handler)
    await console_sign_in(client, tenant, handler.email)
    path = f"/console/cases/{case['id']}/actions"
    assert (await post_form(client, f"{path}/start", {})).status_code == 303
    progress = {"note": "We called the carrier", "visibility": "customer"}
    assert (await post_form(client, f"{path}/progress", progress)).status_code == 303
    assert (await post_form(client, f"{path}/resolve", RESOLUTION)).status_code == 303
    got = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert got["status"] == "resolved"
    assert got["resolution"]["root_cause"] == "Carrier delay"
    timeline = (
        await client.get(
            f"/api/v1/cases/{case['id']}/timeline?visibility=customer", headers=tenant.headers
        )
    ).json()["items"]
    assert any(e["data"].get("note") == "We called the carrier" for e in timeline)


async def test_a_followup_user_completes_the_followup_with_the_script(
    client: Client, tenant: TenantHandle
) -> None:
    handler = await make_staff(client, tenant, Role.HANDLER)
    caller = await make_staff(client, tenant, Role.FOLLOWUP)
    case = await _resolved(client, tenant, handler)
    await act(client, tenant.headers, case["id"], "schedule_followup")
    await console_sign_in(client, tenant, caller.email)
    desk = await client.get("/console/followups")
    assert desk.status_code == 200, desk.text
    assert case["number"] in desk.text
    followup_id = re.search(r'data-followup="([0-9a-f-]+)"', desk.text)
    assert followup_id
    steps = re.findall(r'name="answer\.([^"]+)"', desk.text)
    assert steps, "the tenant's script is shown step by step"
    assert "data-due=" in desk.text
    answers = {f"answer.{step}": f"answer to {step}" for step in steps}
    done = await post_form(
        client,
        f"/console/followups/{followup_id.group(1)}",
        {**answers, "outcome": "resolved_satisfied", "note": "Customer happy"},
    )
    assert done.status_code == 303, done.text
    got = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert got["status"] == "closed"
    assert got["followup_outcome"] == "resolved_satisfied"
    timeline = (
        await client.get(f"/api/v1/cases/{case['id']}/timeline", headers=tenant.headers)
    ).json()["items"]
    (recorded,) = [e for e in timeline if e["type"] == "followup"]
    assert recorded["data"]["script_answers"] == {s: f"answer to {s}" for s in steps}
    assert case["number"] not in (await client.get("/console/followups")).text


async def test_a_handler_of_the_case_is_never_offered_the_followup(
    client: Client, tenant: TenantHandle
) -> None:
    supervisor = await make_staff(client, tenant, Role.SUPERVISOR)
    case = await _resolved(client, tenant, supervisor)
    await act(client, tenant.headers, case["id"], "schedule_followup")
    await console_sign_in(client, tenant, supervisor.email)
    desk = await client.get("/console/followups")
    assert desk.status_code == 200
    assert case["number"] in desk.text  # supervisors see every follow-up
    assert 'name="outcome"' not in desk.text
    assert "followup" not in forms_offered(await _page(client, case["id"]))
    followup_id = re.search(r'data-followup="([0-9a-f-]+)"', desk.text)
    assert followup_id
    refused = await post_form(
        client, f"/console/followups/{followup_id.group(1)}", {"outcome": "resolved_satisfied"}
    )
    assert refused.status_code == 403
    handler_only = await make_staff(client, tenant, Role.HANDLER)
    await console_sign_in(client, tenant, handler_only.email)
    assert (await client.get("/console/followups")).status_code == 403


async def test_the_open_page_learns_that_the_case_changed(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    html = await _page(client, case["id"])
    poll = re.search(r'hx-get="(/console/cases/[^"]+/live\?stamp=[^"]+)"', html)
    assert poll
    url = poll.group(1).replace("&amp;", "&")
    assert (await client.get(url, headers={"HX-Request": "true"})).status_code == 204
    await act(client, tenant.headers, case["id"], "annotate", {"note": "A colleague's note"})
    changed = await client.get(url, headers={"HX-Request": "true"})
    assert changed.status_code == 200
    assert 'role="status"' in changed.text
    assert "<html" not in changed.text


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201d1c2a4f50000000049454e44ae426082"
)


async def test_attachments_are_previewed_inline_or_downloaded_through_the_service(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    uploads = {
        "photo.png": (PNG_1PX, "image/png"),
        "invoice.pdf": (
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n",
            "application/pdf",
        ),
        "notes.txt": (b"plain words", "text/plain"),
    }
    ids = {}
    for name, (data, content_type) in uploads.items():
        made = await client.post(
            f"/api/v1/cases/{case['id']}/attachments/",
            headers=tenant.headers,
            files={"file": (name, data, content_type)},
        )
        assert made.status_code == 201, made.text
        ids[name] = made.json()["id"]
    await console_sign_in(client, tenant, tenant.admin_email)
    html = await _page(client, case["id"])
    base = f"/console/cases/{case['id']}/attachments"
    assert f'<img class="img-fluid rounded border mt-2" src="{base}/{ids["photo.png"]}"' in html
    assert f'<iframe src="{base}/{ids["invoice.pdf"]}"' in html
    assert f'src="{base}/{ids["notes.txt"]}"' not in html

    image = await client.get(f"{base}/{ids['photo.png']}")
    assert image.status_code == 200
    assert image.content == PNG_1PX
    assert image.headers["content-disposition"].startswith("inline;")
    assert image.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in image.headers["content-security-policy"]
    pdf = await client.get(f"{base}/{ids['invoice.pdf']}")
    assert pdf.headers["content-disposition"].startswith("inline;")
    assert pdf.headers["content-type"].startswith("application/pdf")
    text_file = await client.get(f"{base}/{ids['notes.txt']}")
    assert text_file.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in text_file.headers["content-security-policy"]
    saved = await client.get(f"{base}/{ids['photo.png']}?download=true")
    assert saved.headers["content-disposition"].startswith("attachment;")

    other = await make_tenant(client, "globex")
    theirs = await make_case(client, other.headers)
    wrong_case = await client.get(f"/console/cases/{theirs['id']}/attachments/{ids['photo.png']}")
    assert wrong_case.status_code == 404


async def test_a_supervisor_merges_a_duplicate_through_the_page(
    client: Client, tenant: TenantHandle
) -> None:
    kept = await make_case(client, tenant.headers)
    duplicate = await make_case(client, tenant.headers, title="同一个快递又来投诉")
    await act(client, tenant.headers, duplicate["id"], "verify", {"valid": True})
    await console_sign_in(client, tenant, tenant.admin_email)
    path = f"/console/cases/{duplicate['id']}/actions/merge"
    missing = await post_form(client, path, {"into": "NO-SUCH-NUMBER"})
    assert missing.status_code == 404
    assert 'role="alert"' in missing.text  # shown by the form, nothing changed
    merged = await post_form(client, path, {"into": kept["number"], "note": "Same parcel"})
    assert merged.status_code == 303, merged.text
    html = await _page(client, duplicate["id"])
    assert 'data-status="merged"' in html
    assert f'<a href="/console/cases/{kept["id"]}">{kept["number"]}</a>' in html
    assert forms_offered(html) == ["archive", "annotate"]
