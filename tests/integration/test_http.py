"""HTTP conventions every endpoint shares: JSON errors that name the field, nothing
written on a refused request, 500s without a stack, health, metrics and OpenAPI."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, get, post
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from closeloop.db import sessionmaker, transaction
from closeloop.identity.access import public
from closeloop.identity.models import User
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from closeloop.tenancy.service import TenantService
from closeloop.web.app import create_app
from closeloop.web.deps import DbSession
from support import OPERATOR, PASSWORD, Client, TenantHandle

USERS = "/api/v1/users/"
TENANTS = "/platform/v1/tenants/"
JSON = {"Content-Type": "application/json"}

TEST_ROUTE = public("a route of this test only")


def _user(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "email": "new@acme.example.com",
        "display_name": "Han Meimei",
        "password": PASSWORD,
        "roles": ["agent"],
    }
    body.update(overrides)
    return body


async def _user_count(app_engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with transaction(sessionmaker(app_engine), tenant_id) as session:
        return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def _tenant_count(app_engine: AsyncEngine) -> int:
    async with transaction(sessionmaker(app_engine)) as session:
        return int(await session.scalar(select(func.count()).select_from(Tenant)) or 0)


def _error(response_json: dict[str, object]) -> dict[str, object]:
    assert set(response_json) == {"error"}, response_json
    error = response_json["error"]
    assert isinstance(error, dict)
    assert set(error) == {"code", "message", "details"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def _fields(error: dict[str, object]) -> list[object]:
    details = error["details"]
    assert isinstance(details, dict), error
    assert isinstance(details["fields"], list), error
    return [d["field"] for d in details["fields"]]


# -- bodies that are refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email": "new@acme.example.com", ',  # truncated
        b"{email: 'new@acme.example.com'}",  # not JSON
        b'{"email": "a@b.c"} trailing',
        b"\xff\xfe not utf-8",
    ],
)
async def test_malformed_json_is_400_and_writes_nothing(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, raw: bytes
) -> None:
    response = await client.post(USERS, headers={**tenant.headers, **JSON}, content=raw)

    assert response.status_code == 400, response.text
    error = _error(response.json())
    assert error["code"] == "malformed_json"
    assert await _user_count(app_engine, tenant.id) == 1


async def test_malformed_json_on_login_and_operator_endpoints(
    client: Client, app_engine: AsyncEngine
) -> None:
    for path, headers in (("/api/v1/auth/login", JSON), (TENANTS, {**OPERATOR, **JSON})):
        response = await client.post(path, headers=headers, content=b"{nope")
        assert response.status_code == 400, (path, response.text)
        assert _error(response.json())["code"] == "malformed_json"
    assert await _tenant_count(app_engine) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_user(email=5), "email"),
        (_user(roles="agent"), "roles"),
        (_user(display_name=None), "display_name"),
        (_user(department_id="not-a-uuid"), "department_id"),
        (_user(password=["correct", "horse"]), "password"),
    ],
)
async def test_wrong_type_is_400_naming_the_field_and_writes_nothing(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    body: dict[str, object],
    field: str,
) -> None:
    response = await client.post(USERS, headers=tenant.headers, json=body)

    assert response.status_code == 400, response.text
    error = _error(response.json())
    assert error["code"] == "invalid_request"
    assert _fields(error)[0] == field
    assert f"`{field}`" in str(error["message"])
    assert await _user_count(app_engine, tenant.id) == 1


async def test_wrong_type_in_a_list_names_the_list(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(USERS, headers=tenant.headers, json=_user(roles=["agent", 7]))

    assert response.status_code == 400, response.text
    assert str(_fields(_error(response.json()))[0]).startswith("roles")
    assert await _user_count(app_engine, tenant.id) == 1


async def test_unknown_field_is_400_naming_the_field_and_writes_nothing(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(USERS, headers=tenant.headers, json=_user(is_superuser=True))

    assert response.status_code == 400, response.text
    error = _error(response.json())
    assert error["code"] == "invalid_request"
    assert _fields(error) == ["is_superuser"]
    assert "is_superuser" in str(error["message"])
    assert await _user_count(app_engine, tenant.id) == 1


async def test_unknown_field_on_the_operator_api_writes_no_tenant(
    client: Client, app_engine: AsyncEngine
) -> None:
    body = {
        "slug": "initech",
        "name": "Initech",
        "admin_email": "boss@initech.example.com",
        "admin_password": PASSWORD,
        "status": "active",
    }

    response = await client.post(TENANTS, headers=OPERATOR, json=body)

    assert response.status_code == 400, response.text
    assert _fields(_error(response.json())) == ["status"]
    assert await _tenant_count(app_engine) == 0


async def test_missing_required_field_is_400_naming_it(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    body = _user()
    del body["password"]

    response = await client.post(USERS, headers=tenant.headers, json=body)

    assert response.status_code == 400, response.text
    assert _fields(_error(response.json())) == ["password"]
    assert await _user_count(app_engine, tenant.id) == 1


async def test_missing_or_non_object_body_is_400(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    for raw in (b"", b"[]", b'"just a string"', b"null"):
        response = await client.post(USERS, headers={**tenant.headers, **JSON}, content=raw)
        assert response.status_code == 400, (raw, response.text)
        error = _error(response.json())
        assert error["code"] in {"invalid_request", "malformed_json"}, (raw, error)
        assert "'data'" not in str(error["message"]), (raw, error)
    assert await _user_count(app_engine, tenant.id) == 1


async def test_oversize_body_is_413_and_writes_nothing(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    assert settings.max_body_bytes == 1024 * 1024
    padding = "x" * (settings.max_body_bytes + 1)
    raw = json.dumps(_user(display_name=padding)).encode()

    response = await client.post(USERS, headers={**tenant.headers, **JSON}, content=raw)

    assert response.status_code == 413, response.text[:300]
    assert _error(response.json())["code"] == "body_too_large"
    assert await _user_count(app_engine, tenant.id) == 1


async def test_oversize_body_is_413_whatever_length_it_announces(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    # The limit holds on the bytes received, so a chunked body or a Content-Length
    # that understates the body gets no further than an honest one.
    raw = json.dumps(_user(display_name="x" * (settings.max_body_bytes + 1))).encode()
    headers = {**tenant.headers, **JSON, "Content-Length": "100"}

    response = await client.post(USERS, headers=headers, content=raw)

    assert response.status_code == 413, response.text[:300]
    assert _error(response.json())["code"] == "body_too_large"
    assert await _user_count(app_engine, tenant.id) == 1


async def test_a_body_just_under_the_limit_is_read(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    # Same endpoint, same padding, under the limit: refused by validation (name too
    # long), not by size, so the 413 above is about size.
    raw = json.dumps(_user(display_name="x" * (settings.max_body_bytes // 2))).encode()
    assert len(raw) < settings.max_body_bytes

    response = await client.post(USERS, headers={**tenant.headers, **JSON}, content=raw)

    assert response.status_code == 400, response.text[:300]
    assert _fields(_error(response.json())) == ["display_name"]


# -- routes that do not exist ----------------------------------------------------------------


async def test_unknown_route_is_404_in_the_json_error_shape(client: Client) -> None:
    response = await client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert _error(response.json())["code"] == "not_found"


async def test_wrong_method_is_405_in_the_json_error_shape(client: Client) -> None:
    response = await client.put("/api/v1/auth/login", json={})

    assert response.status_code == 405
    assert _error(response.json())["code"] == "method_not_allowed"


# -- unexpected errors -----------------------------------------------------------------------

SECRET_DETAIL = "the frobnicator exploded at 0xDEADBEEF"


@get("/test/boom", opt=TEST_ROUTE)
async def boom() -> None:
    raise RuntimeError(SECRET_DETAIL)


@post("/test/write-then-boom", opt=TEST_ROUTE)
async def write_then_boom(db_session: DbSession) -> None:
    session: AsyncSession = db_session
    await TenantService(session).create(
        slug="half-written", name="Half", locale="en", timezone="UTC"
    )
    raise RuntimeError(SECRET_DETAIL)


@pytest.fixture
async def failing_client(settings: Settings) -> AsyncIterator[Client]:
    app: Litestar = create_app(settings, extra_route_handlers=[boom, write_then_boom])
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_unexpected_error_is_500_with_a_request_id_and_no_stack(
    failing_client: Client,
) -> None:
    response = await failing_client.get("/test/boom")

    assert response.status_code == 500
    error = _error(response.json())
    assert error["code"] == "internal_error"
    request_id = response.headers["x-request-id"]
    assert request_id
    assert error["details"] == {"request_id": request_id}
    for leak in ("Traceback", "RuntimeError", SECRET_DETAIL, "boom", ".py"):
        assert leak not in response.text


async def test_500_keeps_a_sane_incoming_request_id(failing_client: Client) -> None:
    response = await failing_client.get("/test/boom", headers={"X-Request-ID": "abc-123.def_4"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "abc-123.def_4"
    assert response.json()["error"]["details"] == {"request_id": "abc-123.def_4"}


async def test_an_insane_incoming_request_id_is_replaced(client: Client) -> None:
    response = await client.get(
        "/health/live", headers={"X-Request-ID": "<script>alert(1)</script>"}
    )

    assert response.status_code == 200
    assert response.headers["x-request-id"] != "<script>alert(1)</script>"
    assert len(response.headers["x-request-id"]) == 32


async def test_an_error_after_a_write_rolls_the_write_back(
    failing_client: Client, app_engine: AsyncEngine
) -> None:
    response = await failing_client.post("/test/write-then-boom")

    assert response.status_code == 500
    assert SECRET_DETAIL not in response.text
    assert await _tenant_count(app_engine) == 0


# -- operations ------------------------------------------------------------------------------


async def test_health_endpoints_answer_200(client: Client) -> None:
    live = await client.get("/health/live")
    ready = await client.get("/health/ready")

    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok"}


async def test_every_response_carries_a_request_id(client: Client) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")

    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_metrics_are_prometheus_text_counting_requests(client: Client) -> None:
    assert (await client.get("/health/live")).status_code == 200
    assert (await client.get("/api/v1/auth/me")).status_code == 401

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "# TYPE closeloop_requests_total counter" in lines
    assert any(
        line.startswith("closeloop_requests_total{")
        and 'path="/health/live"' in line
        and 'status_code="200"' in line
        for line in lines
    ), response.text
    assert any(
        line.startswith("closeloop_requests_total{")
        and 'path="/api/v1/auth/me"' in line
        and 'status_code="401"' in line
        for line in lines
    ), response.text
    assert any(line.startswith("closeloop_request_duration_seconds_bucket{") for line in lines)


async def test_openapi_lists_the_api(client: Client) -> None:
    response = await client.get("/schema/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Closeloop"
    assert "post" in schema["paths"]["/api/v1/auth/login"]
    assert "/api/v1/users" in schema["paths"]
    assert "/platform/v1/tenants" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# -- text PostgreSQL cannot store -------------------------------------------------------------


async def test_nul_characters_in_text_are_400_not_500(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    for path, headers, body in (
        (USERS, tenant.headers, _user(display_name="Han\x00Meimei")),
        (USERS, tenant.headers, _user(email="new\x00@acme.example.com")),
        ("/api/v1/auth/login", {}, {"tenant": "acme", "email": "a\x00@b.cc", "password": PASSWORD}),
        (
            TENANTS,
            OPERATOR,
            {
                "slug": "initech",
                "name": "Init\x00ech",
                "admin_email": "boss@initech.example.com",
                "admin_password": PASSWORD,
            },
        ),
    ):
        response = await client.post(path, headers=headers, json=body)

        assert response.status_code == 400, (path, response.text)
        error = _error(response.json())
        assert error["code"] == "invalid_request"
        assert "NUL" in str(error["message"])

    assert await _user_count(app_engine, tenant.id) == 1
    assert await _tenant_count(app_engine) == 1


async def test_refused_authentication_gives_its_connection_back(
    app: Litestar, client: Client, tenant: TenantHandle
) -> None:
    for header in ("Bearer not-a-token", "Bearer clk_" + "0" * 80, "Basic abc"):
        response = await client.get("/api/v1/users/", headers={"Authorization": header})
        assert response.status_code == 401
    response = await client.get("/api/v1/users/", headers=tenant.headers)
    assert response.status_code == 200
    assert app.state.engine.pool.checkedout() == 0
