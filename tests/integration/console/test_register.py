"""Screen 1, register a case, over HTTP: the form in both languages, a registration the
API sees, CSRF, refusals naming the field with nothing stored, a double submit making
one case, the customer lookup masked for a viewer without `pii`, a role that may not
register, and a title with a script tag shown as text."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from cases.case_support import create_case

from closeloop.storage import LocalStorage
from support import PASSWORD, Client, TenantHandle, make_staff

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
KEY_FIELD = re.compile(r'name="idempotency_key" value="([^"]+)"')
PHONE = "13812345678"
EMAIL = "wang.xiaoming@example.cn"


@pytest.fixture(autouse=True)
def _no_redirects(client: Client, tmp_path: Path) -> None:
    client.follow_redirects = False
    client.app.state.attachment_storage = LocalStorage(tmp_path / "attachments")


async def console_user(client: Client, tenant: TenantHandle, *roles: str, pii: bool = False) -> str:
    """Sign a new user with `roles` in to the console (the client keeps the cookies)."""
    _, email = await make_staff(client, tenant, *roles, pii=pii)
    client.cookies.clear()
    page = await client.get("/console/login")
    token = CSRF_FIELD.search(page.text)
    assert token
    signed_in = await client.post(
        "/console/login",
        data={
            "tenant": tenant.slug,
            "email": email,
            "password": PASSWORD,
            "_csrf_token": token.group(1),
        },
    )
    assert signed_in.status_code == 303, signed_in.text
    return email


async def open_form(client: Client, **headers: str) -> tuple[str, str, str]:
    """The form page, its CSRF token and its idempotency key."""
    page = await client.get("/console/cases/new", headers=headers)
    assert page.status_code == 200, page.text
    csrf, key = CSRF_FIELD.search(page.text), KEY_FIELD.search(page.text)
    assert csrf
    assert key
    return page.text, csrf.group(1), key.group(1)


def form_fields(csrf: str, key: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "_csrf_token": csrf,
        "idempotency_key": key,
        "kind": "complaint",
        "channel": "phone",
        "customer.phone": PHONE,
        "customer.email": EMAIL,
        "customer.name": "王小明",
        "customer.nickname": "王先生",
        "title": "电水壶漏水",
        "description": "买了两周的电水壶底部漏水,要求换货。",
        "product.name": "电水壶",
        "product.order_number": "A1001",
        "demands": ["exchange"],
    }
    base.update(fields)
    return base


async def cases_of(client: Client, tenant: TenantHandle) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/cases/", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_form_renders_in_chinese_and_english(
    client: Client, tenant: TenantHandle
) -> None:
    await console_user(client, tenant, "agent")
    chinese, _, _ = await open_form(client)
    assert '<html lang="zh-CN">' in chinese
    assert "登记案件" in chinese
    assert 'name="customer.phone"' in chinese
    assert "autofocus" in chinese
    assert "<script>" not in chinese
    assert "style=" not in chinese
    client.cookies.set("closeloop_lang", "en", path="/console")
    english, _, _ = await open_form(client)
    assert '<html lang="en">' in english
    assert "Register a case" in english
    assert "Ctrl+Enter" in english


async def test_an_agent_registers_a_case_the_api_sees(client: Client, tenant: TenantHandle) -> None:
    await console_user(client, tenant, "agent")
    _, csrf, key = await open_form(client)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 3_000_000  # past the JSON API's body limit
    response = await client.post(
        "/console/cases/new",
        data=form_fields(csrf, key),
        files={"files": ("leak.png", png, "image/png")},
    )
    assert response.status_code == 303, response.text
    target = response.headers["location"]
    assert re.fullmatch(r"/console/cases/[0-9a-f-]{36}/registered", target)
    case_id = target.split("/")[3]

    (case,) = await cases_of(client, tenant)
    assert case["id"] == case_id
    assert case["channel"] == "phone"
    assert case["title"] == "电水壶漏水"
    full = (await client.get(f"/api/v1/cases/{case_id}", headers=tenant.headers)).json()
    assert full["customer"]["phone"] == PHONE  # the admin sees it: the agent typed it
    assert full["product"] == {"name": "电水壶", "order_number": "A1001"}
    assert full["demands"] == ["exchange"]
    files = await client.get(f"/api/v1/cases/{case_id}/attachments", headers=tenant.headers)
    assert [f["filename"] for f in files.json()] == ["leak.png"]

    done = await client.get(target)
    assert done.status_code == 200, done.text
    assert case["number"] in done.text
    assert f'href="/console/cases/{case_id}"' in done.text
    assert "data-due=" in done.text  # the promised reply time, ticking in the browser


async def test_without_the_csrf_token_it_is_refused(client: Client, tenant: TenantHandle) -> None:
    await console_user(client, tenant, "agent")
    _, csrf, key = await open_form(client)
    fields = form_fields(csrf, key)
    del fields["_csrf_token"]
    response = await client.post("/console/cases/new", data=fields)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert await cases_of(client, tenant) == []


async def test_a_refusal_names_the_field_keeps_what_was_typed_and_stores_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    await console_user(client, tenant, "agent", pii=True)
    _, csrf, key = await open_form(client)
    response = await client.post(
        "/console/cases/new", data=form_fields(csrf, key, title="  ", channel="pigeon")
    )
    assert response.status_code == 422, response.text
    assert 'id="f-channel-problem"' in response.text or 'id="f-title-problem"' in response.text
    assert "电水壶" in response.text  # what was typed is still there
    assert f'value="{key}"' in response.text  # the same key: a retry is the same request

    blank = await client.post("/console/cases/new", data=form_fields(csrf, key, title="  "))
    assert blank.status_code == 422
    assert 'id="f-title-problem"' in blank.text
    assert 'aria-invalid="true"' in blank.text
    assert "买了两周的电水壶底部漏水" in blank.text
    assert PHONE in blank.text  # a viewer with `pii` gets their typing back

    extra = await client.post(
        "/console/cases/new", data=form_fields(csrf, key, **{"product.purchase_date": "soon"})
    )
    assert extra.status_code == 422
    assert 'id="f-product-purchase_date-problem"' in extra.text
    assert await cases_of(client, tenant) == []


async def test_without_pii_typed_personal_data_is_not_written_back(
    client: Client, tenant: TenantHandle
) -> None:
    await console_user(client, tenant, "agent")
    _, csrf, key = await open_form(client)
    refused = await client.post("/console/cases/new", data=form_fields(csrf, key, title=" "))
    assert refused.status_code == 422
    assert PHONE not in refused.text
    assert EMAIL not in refused.text
    assert "王小明" not in refused.text


async def test_a_double_submit_makes_one_case(client: Client, tenant: TenantHandle) -> None:
    await console_user(client, tenant, "agent")
    _, csrf, key = await open_form(client)
    first = await client.post("/console/cases/new", data=form_fields(csrf, key))
    again = await client.post(
        "/console/cases/new", data=form_fields(csrf, key), headers={"HX-Request": "true"}
    )
    assert first.status_code == 303
    assert again.status_code == 200
    assert again.headers["hx-redirect"] == first.headers["location"]
    assert len(await cases_of(client, tenant)) == 1


async def test_the_lookup_finds_the_customer_masked_without_pii_and_warns_of_repeats(
    client: Client, tenant: TenantHandle
) -> None:
    earlier = await create_case(
        client,
        tenant.headers,
        customer={"name": "王小明", "phone": PHONE, "email": EMAIL},
        title="<b>第一次</b>投诉",
    )
    await console_user(client, tenant, "agent")
    _, csrf, _ = await open_form(client)
    for field, value in (("customer.phone", "138 1234 5678"), ("customer.email", EMAIL.upper())):
        fragment = await client.post(
            "/console/cases/new/customer", data={"_csrf_token": csrf, field: value}
        )
        assert fragment.status_code == 200, fragment.text
        assert "data-known-customer" in fragment.text
        assert earlier["number"] in fragment.text
        assert "&lt;b&gt;第一次&lt;/b&gt;" in fragment.text
        assert PHONE not in fragment.text
        assert EMAIL not in fragment.text
        assert "王小明" not in fragment.text
        assert "<html" not in fragment.text  # a fragment, not a page

    unknown = await client.post(
        "/console/cases/new/customer", data={"_csrf_token": csrf, "customer.phone": "13900000000"}
    )
    assert "data-known-customer" not in unknown.text

    await console_user(client, tenant, "supervisor", pii=True)
    _, csrf, _ = await open_form(client)
    shown = await client.post(
        "/console/cases/new/customer", data={"_csrf_token": csrf, "customer.phone": PHONE}
    )
    assert PHONE in shown.text


async def test_the_lookup_warns_of_a_repeat_in_the_same_category(
    client: Client, tenant: TenantHandle
) -> None:
    categories = (await client.get("/api/v1/categories/", headers=tenant.headers)).json()
    category = categories[0]["id"]
    await create_case(client, tenant.headers, category_id=category)
    await console_user(client, tenant, "agent")
    _, csrf, _ = await open_form(client)
    fragment = await client.post(
        "/console/cases/new/customer",
        data={"_csrf_token": csrf, "customer.phone": PHONE, "category_id": category},
    )
    assert 'role="alert"' in fragment.text  # the repeat warning


async def test_a_role_that_may_not_register_gets_the_403_page(
    client: Client, tenant: TenantHandle
) -> None:
    await console_user(client, tenant, "handler")
    page = await client.get("/console/cases/new")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    token = CSRF_FIELD.search((await client.get("/console/")).text)
    assert token
    posted = await client.post(
        "/console/cases/new", data=form_fields(token.group(1), "console-handler-key")
    )
    assert posted.status_code == 403
    assert await cases_of(client, tenant) == []


async def test_a_script_in_the_title_is_shown_as_text(client: Client, tenant: TenantHandle) -> None:
    await console_user(client, tenant, "agent")
    _, csrf, key = await open_form(client)
    title = "<script>alert(1)</script>"
    response = await client.post("/console/cases/new", data=form_fields(csrf, key, title=title))
    assert response.status_code == 303, response.text
    done = await client.get(response.headers["location"])
    assert "<script>alert(1)</script>" not in done.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in done.text


async def test_another_tenants_case_is_the_404_page(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    theirs = await create_case(client, other_tenant.headers)
    await console_user(client, tenant, "agent")
    response = await client.get(f"/console/cases/{theirs['id']}/registered")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


async def test_plugin_extra_fields_are_inputs_of_their_type_and_the_result_shows_findings(
    client: Client, tenant: TenantHandle
) -> None:
    enabled = await client.put(
        "/api/v1/plugins/retail", headers=tenant.headers, json={"enabled": True, "settings": {}}
    )
    assert enabled.status_code == 200, enabled.text
    await console_user(client, tenant, "agent")
    page, csrf, key = await open_form(client)
    assert re.search(r'name="extra.received_date" type="date"', page)
    assert re.search(r'name="extra.order_amount" type="number" step="any"', page)
    assert 'type="checkbox" name="extra.defect"' in page
    assert '<option value="opened">opened</option>' in page  # item_condition's choices

    kind_fields = await client.get("/console/cases/new/extra", params={"kind": "inquiry"})
    assert kind_fields.status_code == 200
    assert "extra.received_date" not in kind_fields.text  # retail asks nothing of inquiries

    received = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    fields = form_fields(
        csrf,
        key,
        kind="service_request",
        channel="app",
        title="申请退货",
        description="鞋子尺码不合适,申请退货退款。",
        demands=["refund"],
        **{"extra.received_date": received, "extra.order_amount": "abc"},
    )
    refused = await client.post("/console/cases/new", data=fields)
    assert refused.status_code == 422, refused.text
    assert 'id="f-extra-order_amount-problem"' in refused.text
    assert await cases_of(client, tenant) == []

    fields["extra.order_amount"] = "459"
    made = await client.post("/console/cases/new", data=fields)
    assert made.status_code == 303, made.text
    case_id = made.headers["location"].split("/")[3]
    full = (await client.get(f"/api/v1/cases/{case_id}", headers=tenant.headers)).json()
    assert full["extra"] == {"received_date": received, "order_amount": 459, "defect": False}
    done = await client.get(made.headers["location"])
    assert "权益判定" in done.text  # check_entitlement
    assert "retail" in done.text
