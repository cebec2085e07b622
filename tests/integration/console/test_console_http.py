"""The console's foundation over HTTP: sign-in, sessions, CSRF, headers, error pages.

The same behaviours are driven through a real browser in tests/browser/; these run
without one, on the test client, and reach the corners a browser cannot.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.identity.access import public
from closeloop.settings import Settings, load_settings
from closeloop.web.app import create_app
from support import OPERATOR, PASSWORD, Client, TenantHandle, make_tenant

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')

TEST_ROUTE = public("a route of this test only")


@pytest.fixture(autouse=True)
def _see_redirects(client: Client) -> None:
    """Redirects are what these tests look at: the client does not follow them."""
    client.follow_redirects = False


async def csrf_token(client: Client, path: str = "/console/login") -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    found = CSRF_FIELD.search(response.text)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(
    client: Client, tenant: str, email: str, password: str = PASSWORD, **extra: str
) -> tuple[int, str, dict[str, str]]:
    token = await csrf_token(client)
    response = await client.post(
        "/console/login",
        data={"tenant": tenant, "email": email, "password": password, "_csrf_token": token} | extra,
    )
    return response.status_code, response.text, dict(response.headers)


async def sessions_of(owner_engine: AsyncEngine, tenant_id: uuid.UUID) -> list[dict[str, object]]:
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        rows = await conn.execute(text("SELECT * FROM console_sessions"))
        return [dict(r._mapping) for r in rows]


async def test_sign_in_page_is_chinese_by_default_with_the_security_headers(
    client: Client,
) -> None:
    response = await client.get("/console/login")
    assert response.status_code == 200
    assert '<html lang="zh-CN">' in response.text
    assert "登录员工控制台" in response.text
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    csrf_cookie = response.headers["set-cookie"]
    assert csrf_cookie.startswith("closeloop_csrf=")
    assert "HttpOnly" in csrf_cookie
    assert "Path=/console" in csrf_cookie
    assert "<script>" not in response.text
    assert "style=" not in response.text


async def test_the_browser_language_and_the_picked_language(client: Client) -> None:
    english = await client.get("/console/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.text
    assert "Sign in to the staff console" in english.text

    picked = await client.get("/console/language/en?next=/console/login")
    assert picked.status_code == 303
    assert picked.headers["location"] == "/console/login"
    assert "closeloop_lang=en" in picked.headers["set-cookie"]
    again = await client.get("/console/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in again.text


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
async def test_language_pick_never_leaves_the_console(client: Client, target: str) -> None:
    response = await client.get("/console/language/zh-CN", params={"next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"


async def test_unknown_language_is_the_console_404_page(client: Client) -> None:
    response = await client.get("/console/language/fr")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "页面不存在" in response.text


async def test_sign_in_opens_a_server_side_session_and_the_landing_page_names_the_user(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    status, _, headers = await sign_in(client, tenant.slug, tenant.admin_email)
    assert status == 303
    assert headers["location"] == "/console/"
    cookie = headers["set-cookie"]
    assert cookie.startswith(f"closeloop_session={tenant.id.hex}.")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http, public URL http
    (row,) = await sessions_of(owner_engine, tenant.id)
    assert row["user_id"] == tenant.admin_id
    secret = cookie.split(";")[0].split(".", 1)[1]
    assert secret.encode() not in bytes(row["token_hash"])  # type: ignore[arg-type]

    home = await client.get("/console/")
    assert home.status_code == 200
    assert tenant.admin_email in home.text
    assert f"{tenant.slug} Ltd" in home.text
    assert "退出登录" in home.text


async def test_signing_in_again_replaces_the_browsers_session(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, tenant.slug, tenant.admin_email)
    first = client.cookies.get("closeloop_session", path="/console")
    await sign_in(client, tenant.slug, tenant.admin_email)
    second = client.cookies.get("closeloop_session", path="/console")
    assert first != second
    assert len(await sessions_of(owner_engine, tenant.id)) == 1


async def test_next_brings_the_user_back_to_the_console_page_asked_for(
    client: Client, tenant: TenantHandle
) -> None:
    status, _, headers = await sign_in(
        client, tenant.slug, tenant.admin_email, next="/console/?view=mine"
    )
    assert status == 303
    assert headers["location"] == "/console/?view=mine"


async def test_wrong_password_shows_the_error_and_opens_no_session(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    status, page, _ = await sign_in(client, tenant.slug, tenant.admin_email, "not the password")
    assert status == 401
    assert "组织代码、电子邮箱或密码错误" in page
    assert f'value="{tenant.admin_email}"' in page  # kept, the password is not
    assert await sessions_of(owner_engine, tenant.id) == []
    assert (await client.get("/console/")).status_code == 303


async def test_empty_fields_are_a_form_error_not_a_crash(client: Client) -> None:
    status, page, _ = await sign_in(client, "", "", "")
    assert status == 400
    assert "请填写组织代码、电子邮箱和密码" in page


async def test_sign_in_is_throttled_like_the_api_login(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures):
        status, _, _ = await sign_in(client, tenant.slug, tenant.admin_email, "wrong password!")
        assert status == 401
    status, page, _ = await sign_in(client, tenant.slug, tenant.admin_email)
    assert status == 429
    assert "登录失败次数过多" in page
    api = await client.post(
        "/api/v1/auth/login",
        json={"tenant": tenant.slug, "email": tenant.admin_email, "password": PASSWORD},
    )
    assert api.status_code == 429  # one budget for the API and the console


async def test_a_suspended_tenant_cannot_sign_in_and_its_sessions_stop(
    client: Client, tenant: TenantHandle
) -> None:
    assert (await sign_in(client, tenant.slug, tenant.admin_email))[0] == 303
    response = await client.post(f"/platform/v1/tenants/{tenant.slug}/suspend", headers=OPERATOR)
    assert response.status_code == 200, response.text
    home = await client.get("/console/")
    assert home.status_code == 303
    assert home.headers["location"] == "/console/login?ended=1"
    status, page, _ = await sign_in(client, tenant.slug, tenant.admin_email)
    assert status == 403
    assert "该组织已被暂停" in page


async def test_a_post_without_the_csrf_token_is_refused_with_the_console_error_page(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await client.get("/console/login")  # the CSRF cookie is set, the token not sent
    response = await client.post(
        "/console/login",
        data={"tenant": tenant.slug, "email": tenant.admin_email, "password": PASSWORD},
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "不允许的操作" in response.text
    assert "刷新页面" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers
    assert await sessions_of(owner_engine, tenant.id) == []


async def test_a_forged_csrf_token_is_refused(client: Client, tenant: TenantHandle) -> None:
    await client.get("/console/login")
    response = await client.post(
        "/console/login",
        data={"tenant": tenant.slug, "email": tenant.admin_email, "password": PASSWORD},
        headers={"X-CSRFToken": "0" * 128},
    )
    assert response.status_code == 403


async def test_sign_out_ends_the_session(
    client: Client, tenant: TenantHandle, owner_engine: AsyncEngine
) -> None:
    await sign_in(client, tenant.slug, tenant.admin_email)
    cookie = client.cookies.get("closeloop_session", path="/console")
    token = await csrf_token(client, "/console/")
    response = await client.post("/console/logout", data={"_csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert await sessions_of(owner_engine, tenant.id) == []
    # The old cookie, replayed, opens nothing.
    client.cookies.set("closeloop_session", cookie or "", path="/console")
    assert (await client.get("/console/")).status_code == 303


@pytest.mark.parametrize("column", ["last_seen_at", "expires_at"])
async def test_a_session_past_its_idle_or_absolute_timeout_is_refused(
    client: Client,
    tenant: TenantHandle,
    owner_engine: AsyncEngine,
    settings: Settings,
    column: str,
) -> None:
    await sign_in(client, tenant.slug, tenant.admin_email)
    assert (await client.get("/console/")).status_code == 200
    past = {
        "last_seen_at": dt.timedelta(seconds=settings.console_idle_seconds + 1),
        "expires_at": dt.timedelta(seconds=1),
    }[column]
    async with owner_engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(
            text(f"UPDATE console_sessions SET {column} = now() - CAST(:past AS interval)"),
            {"past": past},
        )
    response = await client.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?ended=1"
    page = await client.get(response.headers["location"])
    assert "您的会话已结束" in page.text


async def test_another_tenants_id_in_the_cookie_opens_nothing(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    await sign_in(client, tenant.slug, tenant.admin_email)
    cookie = client.cookies.get("closeloop_session", path="/console")
    assert cookie is not None
    secret = cookie.split(".", 1)[1]
    client.cookies.set("closeloop_session", f"{other_tenant.id.hex}.{secret}", path="/console")
    response = await client.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?ended=1"


async def test_a_deactivated_users_session_is_refused(client: Client, tenant: TenantHandle) -> None:
    email = "agent@acme.example.com"
    created = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": "Agent", "password": PASSWORD, "roles": ["agent"]},
    )
    assert created.status_code == 201, created.text
    await sign_in(client, tenant.slug, email)
    assert (await client.get("/console/")).status_code == 200
    response = await client.patch(
        f"/api/v1/users/{created.json()['id']}", headers=tenant.headers, json={"active": False}
    )
    assert response.status_code == 200, response.text
    assert (await client.get("/console/")).status_code == 303


async def test_an_htmx_request_without_a_session_is_told_where_to_sign_in(client: Client) -> None:
    response = await client.get("/console/", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/console/login"


@get("/console/test-boom", opt=TEST_ROUTE)
async def console_boom() -> None:
    raise RuntimeError("the frobnicator exploded at 0xDEADBEEF")


async def test_an_unexpected_error_is_the_console_500_page_with_the_request_id(
    settings: Settings,
) -> None:
    app = create_app(settings, extra_route_handlers=[console_boom])
    async with AsyncTestClient(app=app) as failing:
        response = await failing.get("/console/test-boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert response.headers["x-request-id"] in response.text
    assert "frobnicator" not in response.text
    assert "Traceback" not in response.text


async def test_unknown_console_paths_get_the_console_404_page(client: Client) -> None:
    response = await client.get("/console/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "返回控制台" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    api = await client.get("/api/v1/no-such-thing")
    assert api.json()["error"]["code"] == "not_found"  # the API keeps its JSON errors


@pytest.fixture
def https_settings(settings: Settings) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": settings.database_url or "",
            "DATABASE_OWNER_URL": settings.database_owner_url or "",
            "CLOSELOOP_SECRET_KEY": settings.secret_key,
            "CLOSELOOP_OPERATOR_TOKEN": settings.operator_token or "",
            "CLOSELOOP_MASTER_KEY": settings.master_key or "",
            "CLOSELOOP_PUBLIC_URL": "https://support.example.com",
        },
        dotenv=Path("/nonexistent/.env"),
    )


@pytest.fixture
async def https_client(https_settings: Settings) -> AsyncIterator[Client]:
    """The app behind an address that is HTTPS for the browser."""
    app: Litestar = create_app(https_settings)
    async with AsyncTestClient(app=app, base_url="https://support.example.com") as test_client:
        test_client.follow_redirects = False
        yield test_client


async def test_cookies_are_secure_when_served_over_https(https_client: Client) -> None:
    tenant = await make_tenant(https_client, "secure-co")
    status, _, headers = await sign_in(https_client, tenant.slug, tenant.admin_email)
    assert status == 303
    assert "; Secure" in headers["set-cookie"]


async def test_cookies_are_secure_when_the_public_address_is_https_behind_a_proxy(
    https_settings: Settings,
) -> None:
    # TLS ends at the proxy: the app sees plain http, the browser an https address.
    async with AsyncTestClient(app=create_app(https_settings)) as plain:
        page = await plain.get("/console/login")
        picked = await plain.get("/console/language/en", follow_redirects=False)
    assert "; Secure" in page.headers["set-cookie"]
    assert "; Secure" in picked.headers["set-cookie"]
