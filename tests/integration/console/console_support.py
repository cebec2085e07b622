"""Helpers of the console screen tests: staff users, console sign-in, cases through the API."""

from __future__ import annotations

import re
import uuid
from typing import Any

import support
from closeloop.identity.models import Role
from support import PASSWORD, Client, TenantHandle, bearer, login

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
# A customer's PII as intake receives it: none of it may appear for a viewer without `pii`.
CUSTOMER = {
    "nickname": "小王",
    "name": "王小明",
    "phone": "13812345678",
    "email": "wang.xiaoming@example.com",
}
PII = ("王小明", "13812345678", "wang.xiaoming@example.com", "wang.xiaoming")


class Staff:
    """A user of a tenant: id, e-mail, API headers."""

    def __init__(self, user_id: uuid.UUID, email: str, headers: dict[str, str]) -> None:
        self.id = user_id
        self.email = email
        self.headers = headers


async def make_staff(
    client: Client,
    tenant: TenantHandle,
    *roles: Role | str,
    pii: bool = False,
    department_id: str | None = None,
    name: str | None = None,
) -> Staff:
    user_id, email = await support.make_staff(
        client,
        tenant,
        *(str(role) for role in roles),
        pii=pii,
        display_name=name,
        department_id=department_id,
    )
    return Staff(user_id, email, bearer(await login(client, tenant.slug, email)))


async def console_sign_in(client: Client, tenant: TenantHandle, email: str) -> None:
    """Sign `email` in to the console on `client` (replacing whoever was signed in)."""
    page = await client.get("/console/login")
    token = CSRF_FIELD.search(page.text)
    assert token, "no CSRF field on the sign-in page"
    response = await client.post(
        "/console/login",
        data={
            "tenant": tenant.slug,
            "email": email,
            "password": PASSWORD,
            "_csrf_token": token.group(1),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def csrf_of(page: str) -> str:
    found = CSRF_META.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def department_id(client: Client, tenant: TenantHandle, code: str = "logistics") -> str:
    response = await client.get("/api/v1/departments", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return str(next(item["id"] for item in items if item["code"] == code))


async def new_case(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """A case registered through the API (a phoned-in complaint with a customer's PII)."""
    body: dict[str, Any] = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误一周",
        "description": "订单 A1001 承诺三天送达,实际一周后才到。",
        "customer": dict(CUSTOMER),
    }
    body.update(overrides)
    response = await client.post("/api/v1/cases", headers=headers, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def act(
    client: Client, headers: dict[str, str], case_id: str, action: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
