"""Platform operators: create, list, suspend and resume tenants with the operator token."""

from __future__ import annotations

import dataclasses

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from closeloop.web.app import create_app
from support import OPERATOR, PASSWORD, Client, TenantHandle, bearer, fields_of, login, make_tenant

TENANTS = "/platform/v1/tenants/"


def _new_tenant(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "slug": "initech",
        "name": "Initech 有限公司",
        "admin_email": "Boss@Initech.example.com",
        "admin_password": PASSWORD,
        "locale": "en",
        "timezone": "Europe/Berlin",
    }
    body.update(overrides)
    return body


async def _tenant_count(app_engine: AsyncEngine) -> int:
    async with transaction(sessionmaker(app_engine)) as session:
        return int(await session.scalar(select(func.count()).select_from(Tenant)) or 0)


async def test_operator_creates_a_tenant_whose_admin_can_log_in(client: Client) -> None:
    response = await client.post(TENANTS, headers=OPERATOR, json=_new_tenant())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "initech"
    assert body["name"] == "Initech 有限公司"
    assert body["status"] == "active"
    assert (body["locale"], body["timezone"]) == ("en", "Europe/Berlin")
    assert body["admin_email"] == "boss@initech.example.com"

    token = await login(client, "initech", "boss@initech.example.com")
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["id"] == body["admin_user_id"]
    assert me.json()["roles"] == ["admin"]
    assert me.json()["display_name"] == "Administrator"


async def test_a_tenants_first_admin_is_made_with_the_pii_permission(client: Client) -> None:
    """The one rule for a tenant's first admin, here and in `closeloop demo`: role
    `admin`, permission `pii` (someone in a new tenant must see customers' details
    and be able to grant that)."""
    response = await client.post(TENANTS, headers=OPERATOR, json=_new_tenant())
    assert response.status_code == 201, response.text

    token = await login(client, "initech", "boss@initech.example.com")
    me = (await client.get("/api/v1/auth/me", headers=bearer(token))).json()

    assert (me["roles"], me["permissions"]) == (["admin"], ["pii"])


async def test_defaults_are_chinese_locale_and_shanghai_time(client: Client) -> None:
    body = _new_tenant()
    del body["locale"], body["timezone"]

    response = await client.post(TENANTS, headers=OPERATOR, json=body)

    assert response.status_code == 201, response.text
    assert (response.json()["locale"], response.json()["timezone"]) == ("zh-CN", "Asia/Shanghai")


async def test_duplicate_slug_is_409_and_keeps_one_tenant(
    client: Client, app_engine: AsyncEngine
) -> None:
    assert (await client.post(TENANTS, headers=OPERATOR, json=_new_tenant())).status_code == 201

    again = await client.post(
        TENANTS, headers=OPERATOR, json=_new_tenant(name="Other", admin_email="x@other.example.com")
    )

    assert again.status_code == 409, again.text
    assert fields_of(again.json()["error"]) == ["slug"]
    assert await _tenant_count(app_engine) == 1
    # The first tenant's admin is untouched, and the second admin was not created anywhere.
    assert await login(client, "initech", "boss@initech.example.com")
    refused = await client.post(
        "/api/v1/auth/login",
        json={"tenant": "initech", "email": "x@other.example.com", "password": PASSWORD},
    )
    assert refused.status_code == 401


async def test_invalid_fields_are_refused_naming_the_field_and_write_nothing(
    client: Client, app_engine: AsyncEngine
) -> None:
    cases = [
        (_new_tenant(slug="Bad Slug"), "slug"),
        (_new_tenant(slug="-leading-dash"), "slug"),
        (_new_tenant(slug="x"), "slug"),
        (_new_tenant(locale="xx-YY"), "locale"),
        (_new_tenant(timezone="Mars/Olympus_Mons"), "timezone"),
        (_new_tenant(timezone="../../etc/passwd"), "timezone"),
        (_new_tenant(timezone="localtime"), "timezone"),
        (_new_tenant(admin_password="short"), "password"),
        (_new_tenant(admin_email="not-an-address"), "email"),
        (_new_tenant(name=""), "name"),
        (_new_tenant(plan="gold"), "plan"),
    ]
    for body, field in cases:
        response = await client.post(TENANTS, headers=OPERATOR, json=body)

        assert 400 <= response.status_code < 500, (field, body.get(field), response.text)
        error = response.json()["error"]
        assert fields_of(error)[0] in {field, f"admin_{field}"}, (body, error)

    assert await _tenant_count(app_engine) == 0


async def test_operator_lists_and_shows_tenants(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    listed = await client.get(TENANTS, headers=OPERATOR)

    assert listed.status_code == 200
    assert [(t["slug"], t["id"], t["status"]) for t in listed.json()] == [
        ("acme", str(tenant.id), "active"),
        ("globex", str(other_tenant.id), "active"),
    ]
    shown = await client.get(f"{TENANTS}acme", headers=OPERATOR)
    assert shown.status_code == 200
    assert shown.json()["id"] == str(tenant.id)
    missing = await client.get(f"{TENANTS}no-such", headers=OPERATOR)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


async def test_operator_endpoints_need_the_operator_token(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-the-operator-token-at-all"},
        {"Authorization": OPERATOR["Authorization"].replace("Bearer", "Basic")},
        {"Authorization": OPERATOR["Authorization"] + "x"},
        tenant.headers,  # a tenant admin is not an operator
    ):
        for method, path, body in (
            ("GET", TENANTS, None),
            ("POST", TENANTS, _new_tenant()),
            ("GET", f"{TENANTS}acme", None),
            ("POST", f"{TENANTS}acme/suspend", None),
        ):
            response = await client.request(method, path, headers=headers, json=body)
            assert response.status_code == 401, (headers, method, path, response.text)
            assert response.json()["error"]["code"] == "unauthorized"

    assert await _tenant_count(app_engine) == 1
    assert (await client.get("/api/v1/auth/me", headers=tenant.headers)).status_code == 200


async def test_operator_token_does_not_open_the_tenant_api(client: Client) -> None:
    response = await client.get("/api/v1/users/", headers=OPERATOR)

    assert response.status_code == 401


async def test_without_an_operator_token_setting_the_operator_api_is_closed(
    settings: Settings, app_engine: AsyncEngine
) -> None:
    closed = create_app(dataclasses.replace(settings, operator_token=None))
    async with AsyncTestClient(app=closed) as closed_client:
        response = await closed_client.post(TENANTS, headers=OPERATOR, json=_new_tenant())

    assert response.status_code == 404
    assert "CLOSELOOP_OPERATOR_TOKEN" in response.json()["error"]["message"]
    assert await _tenant_count(app_engine) == 0


async def test_suspended_tenant_is_refused_until_resumed(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    key = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "crm", "scopes": ["admin"]}
    )
    assert key.status_code == 201, key.text
    key_headers = bearer(key.json()["key"])

    suspended = await client.post(f"{TENANTS}acme/suspend", headers=OPERATOR)
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"

    for headers in (tenant.headers, key_headers):
        for path in ("/api/v1/auth/me", "/api/v1/users/", "/api/v1/api-keys/"):
            response = await client.get(path, headers=headers)
            assert response.status_code == 403, (path, response.text)
            error = response.json()["error"]
            assert error["code"] == "tenant_suspended"
            assert "suspended" in error["message"]
    creating = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": "new@acme.example.com",
            "display_name": "N",
            "password": PASSWORD,
            "roles": ["agent"],
        },
    )
    assert creating.status_code == 403
    login_attempt = await client.post(
        "/api/v1/auth/login",
        json={"tenant": "acme", "email": tenant.admin_email, "password": PASSWORD},
    )
    assert login_attempt.status_code == 403
    assert login_attempt.json()["error"]["code"] == "tenant_suspended"

    # Another tenant is unaffected.
    assert (await client.get("/api/v1/auth/me", headers=other_tenant.headers)).status_code == 200
    assert await login(client, other_tenant.slug, other_tenant.admin_email)
    statuses = {
        t["slug"]: t["status"] for t in (await client.get(TENANTS, headers=OPERATOR)).json()
    }
    assert statuses == {"acme": "suspended", "globex": "active"}

    resumed = await client.post(f"{TENANTS}acme/resume", headers=OPERATOR)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "active"

    assert (await client.get("/api/v1/auth/me", headers=tenant.headers)).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=key_headers)).status_code == 200
    assert await login(client, tenant.slug, tenant.admin_email)
    users = await client.get("/api/v1/users/", headers=tenant.headers)
    assert [u["email"] for u in users.json()] == [tenant.admin_email]


async def test_suspending_an_unknown_tenant_is_404(client: Client) -> None:
    response = await client.post(f"{TENANTS}no-such/suspend", headers=OPERATOR)

    assert response.status_code == 404


async def test_a_tenant_made_by_the_helper_is_listed(client: Client) -> None:
    handle = await make_tenant(client, "umbrella")

    listed = await client.get(TENANTS, headers=OPERATOR)

    assert [t["id"] for t in listed.json()] == [str(handle.id)]
