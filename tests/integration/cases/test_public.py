"""The customer pages: file a case without logging in, see its status with the token."""

from __future__ import annotations

from typing import Any

from case_support import make_user

from support import Client, TenantHandle, fields_of

FORM = {
    "title": "洗衣机漏水",
    "description": "新买的洗衣机第一次使用就漏水,地板泡坏了。",
    "nickname": "张女士",
    "phone": "13700001234",
    "product": {"name": "滚筒洗衣机", "model": "W-10"},
    "demands": ["exchange", "compensation"],
}


async def _file(client: Client, slug: str, **overrides: Any) -> Any:
    return await client.post(f"/public/{slug}/cases", json={**FORM, **overrides})


async def test_a_customer_files_a_case_and_follows_it(client: Client, tenant: TenantHandle) -> None:
    response = await _file(client, tenant.slug)
    assert response.status_code == 201, response.text
    filed = response.json()
    assert filed["number"].startswith("CT-")
    assert filed["status"] == "registered"
    assert len(filed["token"]) >= 24
    assert (
        filed["status_url"]
        == f"/public/{tenant.slug}/cases/{filed['number']}?token={filed['token']}"
    )

    # staff see it as a web case with the customer masked (unless they have `pii`)
    _, staff = await make_user(client, tenant, "supervisor")
    listed = (await client.get("/api/v1/cases", headers=staff)).json()["items"]
    assert [c["number"] for c in listed] == [filed["number"]]
    case = (await client.get(f"/api/v1/cases/{listed[0]['id']}", headers=staff)).json()
    assert case["channel"] == "web"
    assert case["registrar_id"] is None
    assert case["customer"]["phone"] == "137****1234"
    assert case["demands"] == ["exchange", "compensation"]

    # staff notes stay internal; a note for the customer shows on the status page
    _, agent = await make_user(client, tenant, "agent")
    patch = await client.patch(
        f"/api/v1/cases/{case['id']}",
        headers={**agent, "If-Match": "1"},
        json={"problem_place": "客户家中"},
    )
    assert patch.status_code == 200, patch.text
    note = await client.post(
        f"/api/v1/cases/{case['id']}/actions/verify",
        headers=agent,
        json={"valid": False, "explanation": "经核实为安装问题,已安排师傅上门。"},
    )
    assert note.status_code == 200, note.text

    status = await client.get(filed["status_url"])
    assert status.status_code == 200, status.text
    page = status.json()
    assert page["number"] == filed["number"]
    assert page["status"] == "closed_invalid"
    assert page["timeline"][0]["type"] == "registered"
    assert "edited" not in [e["type"] for e in page["timeline"]]
    assert page["timeline"][-1]["message"] == "经核实为安装问题,已安排师傅上门。"
    assert "13700001234" not in status.text
    assert "137****1234" not in status.text


async def test_wrong_token_unknown_number_or_tenant_are_the_same_404(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    filed = (await _file(client, tenant.slug)).json()
    number, token = filed["number"], filed["token"]
    for url in (
        f"/public/{tenant.slug}/cases/{number}?token=wrong-token",
        f"/public/{tenant.slug}/cases/CT-1999-00001?token={token}",
        f"/public/{other_tenant.slug}/cases/{number}?token={token}",
        f"/public/no-such-tenant/cases/{number}?token={token}",
    ):
        response = await client.get(url)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["error"]["message"] == "no such page"
    missing = await client.get(f"/public/{tenant.slug}/cases/{number}")
    assert missing.status_code == 400
    assert (await _file(client, "no-such-tenant")).status_code == 404


async def test_agent_cases_have_no_public_page(client: Client, tenant: TenantHandle) -> None:
    from case_support import create_case

    case = await create_case(client, tenant.headers)
    response = await client.get(f"/public/{tenant.slug}/cases/{case['number']}?token=anything")
    assert response.status_code == 404


async def test_filing_is_rate_limited_per_address_and_tenant(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for i in range(10):
        response = await _file(client, tenant.slug, title=f"第{i}次")
        assert response.status_code == 201, response.text
    refused = await _file(client, tenant.slug)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.json()["error"]["details"]["retry_after_seconds"] > 0
    assert refused.headers["retry-after"] == str(
        refused.json()["error"]["details"]["retry_after_seconds"]
    )
    # another tenant's form is counted on its own
    assert (await _file(client, other_tenant.slug)).status_code == 201
    listed = (await client.get("/api/v1/cases", headers=tenant.headers)).json()["items"]
    assert len(listed) == 10


async def test_the_form_is_validated_like_intake(client: Client, tenant: TenantHandle) -> None:
    for body, field in (
        ({"title": ""}, "title"),
        ({"kind": "rant"}, "kind"),
        ({"demands": ["moon"]}, "demands"),
        ({"channel": "phone"}, "channel"),  # the channel is always web
        ({"external_ref": "CRM-1"}, "external_ref"),  # customers cannot claim a record
    ):
        response = await _file(client, tenant.slug, **body)
        assert 400 <= response.status_code < 500, response.text
        assert fields_of(response.json())[0] == field, response.text
    assert (await client.get("/api/v1/cases", headers=tenant.headers)).json()["items"] == []
