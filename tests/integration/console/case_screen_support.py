"""Helpers for the console screen tests: staff signed in to the console, forms posted
with the page's CSRF token, cases made through the API."""

from __future__ import annotations

import re
import uuid
from typing import Any

from console_support import CSRF_META

from support import Client, TenantHandle

PHONE, NAME, EMAIL = "13812345678", "王小明", "wang.xiaoming@example.com"
SCRIPT_TITLE = "<script>alert(1)</script>"


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
