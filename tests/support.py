"""Helpers shared by the tests: tenants made through the real API, logins, headers."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

OPERATOR_TOKEN = "test-operator-token-0123456789abcdef"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
PASSWORD = "correct horse battery"

Client = AsyncTestClient[Litestar]


def shared_data_dir() -> Path:
    """The shared complaint data (read-only, never copied into the repository):
    `CLOSELOOP_SHARED_DATA`, else `../shared/data` beside the checkout."""
    configured = os.environ.get("CLOSELOOP_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclasses.dataclass
class TenantHandle:
    """A tenant made through the operator API, with its first admin logged in."""

    id: uuid.UUID
    slug: str
    admin_email: str
    admin_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def login(client: Client, slug: str, email: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": slug, "email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def make_tenant(client: Client, slug: str) -> TenantHandle:
    email = f"admin@{slug}.example.com"
    response = await client.post(
        "/platform/v1/tenants/",
        headers=OPERATOR,
        json={
            "slug": slug,
            "name": f"{slug} Ltd",
            "admin_email": email,
            "admin_password": PASSWORD,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return TenantHandle(
        id=uuid.UUID(body["id"]),
        slug=slug,
        admin_email=email,
        admin_id=uuid.UUID(body["admin_user_id"]),
        token=await login(client, slug, email),
    )
