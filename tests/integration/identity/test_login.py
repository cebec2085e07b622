"""Login and session tokens: the right password gets a token that works; everything
else is a 401 that says as little as possible; guessing is throttled per account."""

from __future__ import annotations

import datetime as dt
import uuid

import jwt
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.identity.models import LoginAttempt
from closeloop.identity.tokens import ALGORITHM, AUDIENCE, ISSUER, issue_session_token
from closeloop.settings import Settings
from support import PASSWORD, Client, TenantHandle, bearer, login

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"
WRONG = "wrong wrong wrong"


async def _attempt(client: Client, slug: str, email: str, password: str) -> tuple[int, dict]:
    response = await client.post(LOGIN, json={"tenant": slug, "email": email, "password": password})
    return response.status_code, response.json()


async def _add_user(client: Client, tenant: TenantHandle, email: str, roles: list[str]) -> str:
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": email, "password": PASSWORD, "roles": roles},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _claims(tenant: TenantHandle, **overrides: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(tenant.admin_id),
        "tid": str(tenant.id),
        "iat": now,
        "exp": now + dt.timedelta(minutes=5),
    }
    claims.update(overrides)
    return claims


async def test_right_password_gives_a_token_that_works(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.post(
        LOGIN, json={"tenant": tenant.slug, "email": tenant.admin_email, "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert dt.datetime.fromisoformat(body["expires_at"]) > dt.datetime.now(dt.UTC)
    me = await client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == str(tenant.admin_id)
    assert me.json()["email"] == tenant.admin_email
    assert me.json()["roles"] == ["admin"]


async def test_email_is_matched_case_insensitively(client: Client, tenant: TenantHandle) -> None:
    status, body = await _attempt(client, tenant.slug, tenant.admin_email.upper(), PASSWORD)

    assert status == 200, body
    assert "access_token" in body


async def test_wrong_password_is_401_invalid_credentials(
    client: Client, tenant: TenantHandle
) -> None:
    status, body = await _attempt(client, tenant.slug, tenant.admin_email, WRONG)

    assert status == 401
    assert body["error"]["code"] == "invalid_credentials"
    assert "access_token" not in body


async def test_unknown_tenant_or_email_is_the_same_401(
    client: Client, tenant: TenantHandle
) -> None:
    _, wrong_password = await _attempt(client, tenant.slug, tenant.admin_email, WRONG)
    unknown_tenant = await _attempt(client, "no-such-tenant", tenant.admin_email, PASSWORD)
    unknown_email = await _attempt(client, tenant.slug, "nobody@acme.example.com", PASSWORD)

    # Nothing in the answer tells which of the three was wrong.
    assert unknown_tenant == (401, wrong_password)
    assert unknown_email == (401, wrong_password)


async def test_inactive_user_cannot_log_in(client: Client, tenant: TenantHandle) -> None:
    user_id = await _add_user(client, tenant, "gone@acme.example.com", ["agent"])
    patched = await client.patch(
        f"/api/v1/users/{user_id}", headers=tenant.headers, json={"active": False}
    )
    assert patched.status_code == 200, patched.text

    status, body = await _attempt(client, tenant.slug, "gone@acme.example.com", PASSWORD)

    assert status == 401
    assert body["error"]["code"] == "invalid_credentials"


async def test_eleventh_attempt_in_the_window_is_throttled(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    other_email = "agent@acme.example.com"
    await _add_user(client, tenant, other_email, ["agent"])
    assert settings.login_max_failures == 10

    for attempt in range(settings.login_max_failures):
        status, body = await _attempt(client, tenant.slug, tenant.admin_email, WRONG)
        assert status == 401, (attempt, body)

    # The 11th attempt is refused without looking at the password, even the right one.
    status, body = await _attempt(client, tenant.slug, tenant.admin_email, PASSWORD)
    assert status == 429, body
    assert body["error"]["code"] == "login_throttled"
    assert body["error"]["details"]["retry_after_seconds"] == settings.login_failure_window_seconds

    # Another account of the same tenant is not affected.
    assert await login(client, tenant.slug, other_email)


async def test_failures_of_unknown_accounts_are_counted_too(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    ghost = "ghost@acme.example.com"
    for _ in range(settings.login_max_failures):
        status, _ = await _attempt(client, tenant.slug, ghost, WRONG)
        assert status == 401

    status, body = await _attempt(client, tenant.slug, ghost, WRONG)

    assert status == 429, body


async def test_failed_logins_are_recorded_and_a_success_clears_them(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    async def failures() -> int:
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            count = await session.scalar(select(func.count()).select_from(LoginAttempt))
        return int(count or 0)

    for _ in range(3):
        await _attempt(client, tenant.slug, tenant.admin_email, WRONG)
    assert await failures() == 3

    await login(client, tenant.slug, tenant.admin_email)

    assert await failures() == 0


async def test_expired_token_is_401(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    token, expires = issue_session_token(
        secret=settings.secret_key, tenant_id=tenant.id, user_id=tenant.admin_id, ttl_seconds=-60
    )
    assert expires < dt.datetime.now(dt.UTC)

    response = await client.get(ME, headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"
    assert "expired" in response.json()["error"]["message"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_token_with_a_flipped_signature_character_is_401(
    client: Client, tenant: TenantHandle
) -> None:
    header, payload, signature = tenant.token.split(".")
    # Flip a character in the middle: the last one may only carry padding bits.
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"

    response = await client.get(ME, headers=bearer(tampered))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_token_signed_with_another_secret_is_401(
    client: Client, tenant: TenantHandle
) -> None:
    forged = jwt.encode(
        _claims(tenant), "another-secret-another-secret-0123456789", algorithm=ALGORITHM
    )

    response = await client.get(ME, headers=bearer(forged))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_unsigned_token_is_401(client: Client, tenant: TenantHandle) -> None:
    unsigned = jwt.encode(_claims(tenant), None, algorithm="none")

    response = await client.get(ME, headers=bearer(unsigned))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_token_for_another_audience_is_401(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    foreign = jwt.encode(
        _claims(tenant, aud="someone-else"), settings.secret_key, algorithm=ALGORITHM
    )

    response = await client.get(ME, headers=bearer(foreign))

    assert response.status_code == 401


async def test_token_with_edited_claims_is_401(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    # Moving a valid token to another tenant by editing its payload breaks the signature.
    header, _, signature = tenant.token.split(".")
    _, other_payload, _ = other_tenant.token.split(".")

    response = await client.get(ME, headers=bearer(f"{header}.{other_payload}.{signature}"))

    assert response.status_code == 401


async def test_token_of_an_unknown_user_is_401(
    client: Client, tenant: TenantHandle, settings: Settings
) -> None:
    token, _ = issue_session_token(
        secret=settings.secret_key, tenant_id=tenant.id, user_id=uuid.uuid4(), ttl_seconds=60
    )

    response = await client.get(ME, headers=bearer(token))

    assert response.status_code == 401


async def test_token_of_a_deactivated_user_is_401(client: Client, tenant: TenantHandle) -> None:
    user_id = await _add_user(client, tenant, "leaver@acme.example.com", ["agent"])
    token = await login(client, tenant.slug, "leaver@acme.example.com")
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    patched = await client.patch(
        f"/api/v1/users/{user_id}", headers=tenant.headers, json={"active": False}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active"] is False

    response = await client.get(ME, headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_token"


async def test_missing_authorization_header_is_401_with_a_clear_message(client: Client) -> None:
    response = await client.get(ME)

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert "Authorization: Bearer" in error["message"]
    assert response.headers["www-authenticate"] == "Bearer"


async def test_garbled_authorization_headers_are_401(client: Client, tenant: TenantHandle) -> None:
    for value in (
        f"Basic {tenant.token}",  # wrong scheme
        "Bearer",  # no token
        "Bearer    ",  # blank token
        tenant.token,  # token without a scheme
        "Bearer not-a-jwt",
        "Bearer a.b.c",
    ):
        response = await client.get(ME, headers={"Authorization": value})
        assert response.status_code == 401, value
        error = response.json()["error"]
        assert error["code"] in {"unauthorized", "invalid_token"}, value
        assert "Bearer" in error["message"] or "not valid" in error["message"], value
