"""Helpers for the console screen tests: staff signed in to the console, forms posted
with the page's CSRF token, cases made through the API."""

from __future__ import annotations

import re
import uuid
from typing import Any

from closeloop.identity.models import Role
from support import PASSWORD, Client, TenantHandle, bearer, login

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PHONE, NAME, EMAIL = "13812345678", "王小明", "wang.xiaoming@example.com"
SCRIPT_TITLE = "<script>alert(1)</script>"


class Staff:
    """A user of the tenant: id, e-mail, API headers."""

    def __init__(self, user_id: uuid.UUID, email: str, headers: dict[str, str]) -> None:
        self.id = user_id
        self.email = email
        self.headers = headers


async def make_staff(
    client: Client, tenant: TenantHandle, *roles: Role | str, pii: bool = False
) -> Staff:
    names = [str(r) for r in roles]
    email = f"{'-'.join(names)}-{uuid.uuid4().hex[:6]}@{tenant.slug}.example.com"
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": email,
            "display_name": f"{names[0]} {email[-20:-12]}",
            "password": PASSWORD,
            "roles": names,
            "permissions": ["pii"] if pii else [],
        },
    )
    assert response.status_code == 201, response.text
    user_id = uuid.UUID(response.json()["id"])
    return Staff(user_id, email, bearer(await login(client, tenant.slug, email)))


async def console_sign_in(client: Client, tenant: TenantHandle, email: str) -> None:
    """Sign `email` in to the console on `client` (ending the session it held)."""
    page = await client.get("/console/login")
    token = CSRF_META.search(page.text)
    assert token, page.text
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


async def post_form(
    client: Client, path: str, data: dict[str, Any], *, page: str | None = None, **extra: Any
) -> Any:
    """POST `data` to `path` with the CSRF token of `page` (default: the console home)."""
    shown = await client.get(page or "/console/")
    token = CSRF_META.search(shown.text)
    assert token, shown.text
    return await client.post(
        path, data={**data, "_csrf_token": token.group(1)}, follow_redirects=False, **extra
    )


async def make_case(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "complaint",
        "channel": "phone",
        "title": "快递延误一周",
        "description": "订单 A1001 承诺三天送达,实际一周后才到。",
        "customer": {"nickname": "小王", "name": NAME, "phone": PHONE, "email": EMAIL},
        "product": {"name": "电水壶", "model": "K-200", "order_number": "A1001"},
    }
    body.update(overrides)
    response = await client.post("/api/v1/cases/", headers=headers, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def act(
    client: Client, headers: dict[str, str], case_id: object, action: str, body: Any = None
) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body or {}
    )
    assert response.status_code == 200, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def department(client: Client, tenant: TenantHandle) -> str:
    response = await client.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": f"d-{uuid.uuid4().hex[:6]}", "name_en": "Logistics", "name_zh": "物流部"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def forms_offered(html: str) -> list[str]:
    """The actions whose forms the case page offers, in order."""
    return re.findall(r'data-action="([a-z_]+)"', html)
