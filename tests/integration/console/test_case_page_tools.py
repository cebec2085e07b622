"""The case page's tools beyond the actions: adding evidence files through the
attachment service, the assign picker grouped by department, and pages sent gzipped."""

from __future__ import annotations

import re

import pytest
from case_screen_support import act, department, make_case, post_form
from console_support import console_sign_in, make_staff

from closeloop.identity.models import Role
from support import Client, TenantHandle, make_tenant

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


@pytest.fixture(autouse=True)
def _see_redirects(client: Client) -> None:
    client.follow_redirects = False


async def _attachments(client: Client, tenant: TenantHandle, case_id: str) -> list[str]:
    listed = await client.get(f"/api/v1/cases/{case_id}/attachments/", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    return sorted(item["filename"] for item in listed.json())


async def test_files_added_on_the_page_are_stored_through_the_service(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    page = f"/console/cases/{case['id']}"
    added = await post_form(
        client,
        f"{page}/attachments",
        {},
        page=page,
        files=[
            ("files", ("invoice.pdf", PDF, "application/pdf")),
            ("files", ("notes.txt", b"what the customer said", "text/plain")),
        ],
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{page}#attachments"
    assert await _attachments(client, tenant, case["id"]) == ["invoice.pdf", "notes.txt"]
    html = (await client.get(page)).text
    assert "invoice.pdf" in html
    assert "notes.txt" in html


async def test_a_refused_file_names_the_problem_and_stores_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    page = f"/console/cases/{case['id']}"
    # A good file and a program in one go: neither is kept.
    refused = await post_form(
        client,
        f"{page}/attachments",
        {},
        page=page,
        files=[
            ("files", ("invoice.pdf", PDF, "application/pdf")),
            ("files", ("setup.exe", b"MZ\x90\x00binary", "application/x-msdownload")),
        ],
    )
    assert refused.status_code == 415, refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert 'id="attach-problem"' in refused.text
    assert await _attachments(client, tenant, case["id"]) == []

    empty = await post_form(client, f"{page}/attachments", {}, page=page)
    assert empty.status_code == 422
    assert "choose a file" in empty.text
    assert await _attachments(client, tenant, case["id"]) == []


async def test_only_editors_of_this_tenant_may_add_files(
    client: Client, tenant: TenantHandle
) -> None:
    case = await make_case(client, tenant.headers)
    viewer = await make_staff(client, tenant, Role.VIEWER)
    await console_sign_in(client, tenant, viewer.email)
    page = f"/console/cases/{case['id']}"
    assert 'action="' + page + '/attachments"' not in (await client.get(page)).text
    refused = await post_form(
        client,
        f"{page}/attachments",
        {},
        files=[("files", ("notes.txt", b"words", "text/plain"))],
    )
    assert refused.status_code == 403

    other = await make_tenant(client, "globex")
    theirs = await make_case(client, other.headers)
    await console_sign_in(client, tenant, tenant.admin_email)
    missing = await post_form(
        client,
        f"/console/cases/{theirs['id']}/attachments",
        {},
        files=[("files", ("notes.txt", b"words", "text/plain"))],
    )
    assert missing.status_code == 404
    assert await _attachments(client, other, theirs["id"]) == []
    assert await _attachments(client, tenant, case["id"]) == []


async def test_the_handler_picker_groups_staff_by_department(
    client: Client, tenant: TenantHandle
) -> None:
    logistics = await department(client, tenant)
    handler = await make_staff(
        client, tenant, Role.HANDLER, department_id=logistics, name="Wang Wu"
    )
    loose = await make_staff(client, tenant, Role.HANDLER, name="Zhao Liu")
    case = await make_case(client, tenant.headers)
    await act(client, tenant.headers, case["id"], "verify", {"valid": True})  # assign comes next
    await console_sign_in(client, tenant, tenant.admin_email)
    html = (await client.get(f"/console/cases/{case['id']}")).text
    picker = re.search(r'<select[^>]*id="assign-handler_id".*?</select>', html, re.S)
    assert picker, "no handler picker on the page"
    groups = re.findall(
        r'<optgroup label="([^"]*)" data-department="([^"]*)">(.*?)</optgroup>',
        picker.group(0),
        re.S,
    )
    by_department = {dept: (label, body) for label, dept, body in groups}
    label, members = by_department[logistics]
    assert label == "物流部"
    assert f'value="{handler.id}"' in members
    assert f'value="{loose.id}"' not in members
    assert f'value="{loose.id}"' in by_department[""][1]


async def test_pages_are_sent_gzipped_and_static_files_once(
    client: Client, tenant: TenantHandle
) -> None:
    await console_sign_in(client, tenant, tenant.admin_email)
    page = await client.get("/console/queues/all", headers={"accept-encoding": "gzip"})
    assert page.status_code == 200
    assert page.headers["content-encoding"] == "gzip"
    assert "</html>" in page.text  # the client undid it
    plain = await client.get("/console/queues/all", headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert int(plain.headers["content-length"]) > 3 * int(page.headers["content-length"])
    script = re.search(r'src="(/console/static/[^"]+\.js)"', plain.text)
    assert script
    asset = await client.get(script.group(1), headers={"accept-encoding": "gzip"})
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.content.startswith(b"/*") or b"function" in asset.content[:2000]


async def test_the_timeline_names_the_answer_and_the_new_clock_cycle(
    client: Client, tenant: TenantHandle
) -> None:
    handler = await make_staff(
        client, tenant, Role.HANDLER, department_id=await department(client, tenant)
    )
    case = await make_case(client, tenant.headers)
    await act(client, tenant.headers, case["id"], "verify", {"valid": True})
    await act(
        client,
        tenant.headers,
        case["id"],
        "assign",
        {"lead_department_id": await department(client, tenant), "handler_id": str(handler.id)},
    )
    await act(client, handler.headers, case["id"], "start")
    await act(
        client,
        handler.headers,
        case["id"],
        "resolve",
        {
            "root_cause": "Carrier delay",
            "responsible_party": "third_party",
            "third_party": "SF Express",
            "solution_type": "coupon",
            "result": "Coupon sent",
        },
    )
    # The customer's unsatisfied answer reopens the case: a new cycle of clocks.
    await act(
        client,
        tenant.headers,
        case["id"],
        "feedback",
        {"satisfaction": "unsatisfied", "reason": "Still no refund"},
    )
    await console_sign_in(client, tenant, tenant.admin_email)
    html = (await client.get(f"/console/cases/{case['id']}")).text
    timeline = html[html.index('id="timeline"') :]
    assert "不满意" in timeline
    assert ": unsatisfied" not in timeline
    assert ">unsatisfied<" not in timeline
    assert "新一轮计时" in timeline
    assert not re.search(r"·\s*</", timeline), "a timeline title ends with a bare separator"


async def test_picking_a_language_returns_to_the_page_with_its_filters(
    client: Client, tenant: TenantHandle
) -> None:
    await console_sign_in(client, tenant, tenant.admin_email)
    html = (await client.get("/console/queues/all?channel=phone&q=退款")).text
    link = re.search(r'href="(/console/language/en\?next=[^"]+)"', html)
    assert link, "no language link"
    picked = await client.get(link.group(1).replace("&amp;", "&"))
    assert picked.status_code in (302, 303), picked.text
    assert picked.headers["location"] == "/console/queues/all?channel=phone&q=%E9%80%80%E6%AC%BE"
