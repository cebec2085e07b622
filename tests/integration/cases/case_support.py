"""Helpers for the intake and listing tests: staff users, intake bodies, cases via the API."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from closeloop.settings import Settings
from closeloop.web.app import create_app
from support import Client, TenantHandle, bearer, login, make_staff


@contextlib.asynccontextmanager
async def concurrent_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really overlap: the app runs on the test's own event loop.

    (Litestar's test client hands each request to a portal thread one at a time, so
    `asyncio.gather` over it never runs two requests at once.)
    """
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def make_user(
    client: Client, tenant: TenantHandle, *roles: str, pii: bool = False
) -> tuple[uuid.UUID, dict[str, str]]:
    """A new user of `tenant` with `roles` (and the `pii` permission if asked), logged in."""
    user_id, email = await make_staff(client, tenant, *roles, pii=pii)
    return user_id, bearer(await login(client, tenant.slug, email))


def intake_body(**overrides: Any) -> dict[str, Any]:
    """A valid intake body (a phoned-in complaint); `overrides` replace its fields."""
    body: dict[str, Any] = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误一周",
        "description": "订单 A1001 承诺三天送达,实际一周后才到,包装破损。",
        "customer": {"nickname": "小王", "name": "王小明", "phone": "13812345678"},
        "product": {"name": "电水壶", "model": "K-200", "order_number": "A1001"},
        "demands": ["refund", "apology"],
    }
    body.update(overrides)
    return body


async def create_case(
    client: Client, headers: dict[str, str], expect: int = 201, **overrides: Any
) -> dict[str, Any]:
    response = await client.post("/api/v1/cases", headers=headers, json=intake_body(**overrides))
    assert response.status_code == expect, response.text
    body: dict[str, Any] = response.json()
    return body


async def config_id(client: Client, tenant: TenantHandle, kind: str, code: str) -> str:
    """The id of the tenant's `kind` (categories, severities, ...) item with `code`."""
    response = await client.get(f"/api/v1/{kind}", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    for item in items:
        if item["code"] == code:
            return str(item["id"])
    raise AssertionError(f"tenant has no {kind} {code!r}")


async def list_items(client: Client, headers: dict[str, str], path: str) -> list[dict[str, Any]]:
    """The `items` of the first page `GET path` answers."""
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
