"""Users: admins create and change them; e-mail unique per tenant; roles and passwords checked."""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher
from argon2.low_level import Type
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.identity.models import User
from support import PASSWORD, Client, TenantHandle, bearer, fields_of, login

USERS = "/api/v1/users/"


def _user(email: str, roles: list[str], **extra: object) -> dict[str, object]:
    return {"email": email, "display_name": "Li Lei", "password": PASSWORD, "roles": roles, **extra}


async def _stored_users(app_engine: AsyncEngine, tenant_id: uuid.UUID) -> list[User]:
    async with transaction(sessionmaker(app_engine), tenant_id) as session:
        return list((await session.scalars(select(User).order_by(User.email))).all())


async def _emails(app_engine: AsyncEngine, tenant_id: uuid.UUID) -> list[str]:
    return [u.email for u in await _stored_users(app_engine, tenant_id)]


async def test_admin_creates_a_user_with_a_lowercased_email(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.post(
        USERS,
        headers=tenant.headers,
        json=_user("  Li.Lei@ACME.example.com ", ["agent", "handler"], permissions=["pii"]),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "li.lei@acme.example.com"
    assert body["roles"] == ["agent", "handler"]
    assert body["permissions"] == ["pii"]
    assert body["active"] is True
    assert "password" not in body
    assert "password_hash" not in body
    shown = await client.get(f"{USERS}{body['id']}", headers=tenant.headers)
    assert shown.json() == body
    # The new user can log in, with the e-mail in any case.
    assert await login(client, tenant.slug, "LI.LEI@acme.example.com")


async def test_duplicate_email_is_409_and_leaves_one_user(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    first = await client.post(
        USERS, headers=tenant.headers, json=_user("dup@acme.example.com", ["agent"])
    )
    assert first.status_code == 201, first.text

    again = await client.post(
        USERS, headers=tenant.headers, json=_user("DUP@acme.example.com", ["viewer"])
    )

    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "conflict"
    assert fields_of(again.json()["error"]) == ["email"]
    stored = [
        u for u in await _stored_users(app_engine, tenant.id) if u.email == "dup@acme.example.com"
    ]
    assert [u.roles for u in stored] == [["agent"]]


async def test_the_same_email_may_exist_in_two_tenants(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    for handle in (tenant, other_tenant):
        response = await client.post(
            USERS, headers=handle.headers, json=_user("shared@example.com", ["agent"])
        )
        assert response.status_code == 201, response.text


async def test_unknown_role_is_422_naming_the_field_and_nothing_is_written(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(
        USERS, headers=tenant.headers, json=_user("new@acme.example.com", ["agent", "overlord"])
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert fields_of(error) == ["roles"]
    assert "overlord" in error["message"]
    assert await _emails(app_engine, tenant.id) == [tenant.admin_email]


async def test_unknown_permission_is_422_naming_the_field(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(
        USERS,
        headers=tenant.headers,
        json=_user("new@acme.example.com", ["agent"], permissions=["root"]),
    )

    assert response.status_code == 422, response.text
    assert fields_of(response.json()["error"]) == ["permissions"]
    assert await _emails(app_engine, tenant.id) == [tenant.admin_email]


async def test_short_password_is_422_and_nothing_is_written(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(
        USERS,
        headers=tenant.headers,
        json=_user("new@acme.example.com", ["agent"], password="short"),
    )

    assert response.status_code == 422, response.text
    assert fields_of(response.json()["error"]) == ["password"]
    assert await _emails(app_engine, tenant.id) == [tenant.admin_email]


async def test_email_without_at_sign_is_422(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(
        USERS, headers=tenant.headers, json=_user("not-an-address", ["agent"])
    )

    assert response.status_code == 422, response.text
    assert fields_of(response.json()["error"]) == ["email"]
    assert await _emails(app_engine, tenant.id) == [tenant.admin_email]


async def test_non_admin_cannot_create_users(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    created = await client.post(
        USERS, headers=tenant.headers, json=_user("agent@acme.example.com", ["agent"])
    )
    assert created.status_code == 201, created.text
    agent = bearer(await login(client, tenant.slug, "agent@acme.example.com"))

    response = await client.post(
        USERS, headers=agent, json=_user("sneaky@acme.example.com", ["admin"])
    )

    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "role_required"
    assert "admin" in response.json()["error"]["message"]
    assert await _emails(app_engine, tenant.id) == [
        "admin@acme.example.com",
        "agent@acme.example.com",
    ]
    # Nor make themselves admin.
    promote = await client.patch(
        f"{USERS}{created.json()['id']}", headers=agent, json={"roles": ["admin"]}
    )
    assert promote.status_code == 403
    assert (await client.get("/api/v1/auth/me", headers=agent)).json()["roles"] == ["agent"]


async def test_patch_changes_roles(client: Client, tenant: TenantHandle) -> None:
    created = await client.post(
        USERS, headers=tenant.headers, json=_user("sup@acme.example.com", ["agent"])
    )
    user_id = created.json()["id"]
    token = bearer(await login(client, tenant.slug, "sup@acme.example.com"))
    assert (await client.get(USERS, headers=token)).status_code == 403

    patched = await client.patch(
        f"{USERS}{user_id}", headers=tenant.headers, json={"roles": ["supervisor", "agent"]}
    )

    assert patched.status_code == 200, patched.text
    assert patched.json()["roles"] == ["agent", "supervisor"]
    # The change applies to the user's existing session at once.
    assert (await client.get("/api/v1/auth/me", headers=token)).json()["roles"] == [
        "agent",
        "supervisor",
    ]
    assert (await client.get(USERS, headers=token)).status_code == 200


async def test_patch_with_an_unknown_role_changes_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    created = await client.post(
        USERS, headers=tenant.headers, json=_user("x@acme.example.com", ["agent"])
    )
    user_id = created.json()["id"]

    response = await client.patch(
        f"{USERS}{user_id}",
        headers=tenant.headers,
        json={"roles": ["wizard"], "display_name": "Renamed"},
    )

    assert response.status_code == 422, response.text
    assert fields_of(response.json()["error"]) == ["roles"]
    shown = (await client.get(f"{USERS}{user_id}", headers=tenant.headers)).json()
    assert (shown["roles"], shown["display_name"]) == (["agent"], "Li Lei")


async def test_patch_changes_the_password(client: Client, tenant: TenantHandle) -> None:
    created = await client.post(
        USERS, headers=tenant.headers, json=_user("pw@acme.example.com", ["agent"])
    )
    new_password = "a brand new passphrase"

    patched = await client.patch(
        f"{USERS}{created.json()['id']}", headers=tenant.headers, json={"password": new_password}
    )

    assert patched.status_code == 200, patched.text
    old = await client.post(
        "/api/v1/auth/login",
        json={"tenant": tenant.slug, "email": "pw@acme.example.com", "password": PASSWORD},
    )
    assert old.status_code == 401
    assert await login(client, tenant.slug, "pw@acme.example.com", new_password)


async def test_passwords_are_stored_as_argon2id_at_owasp_parameters(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    response = await client.post(
        USERS, headers=tenant.headers, json=_user("hash@acme.example.com", ["agent"])
    )
    assert response.status_code == 201, response.text

    stored = {u.email: u for u in await _stored_users(app_engine, tenant.id)}[
        "hash@acme.example.com"
    ]

    assert PASSWORD not in stored.password_hash
    assert stored.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1, type=Type.ID).verify(
        stored.password_hash, PASSWORD
    )


async def test_users_of_another_tenant_are_not_found(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    foreign_id = other_tenant.admin_id

    shown = await client.get(f"{USERS}{foreign_id}", headers=tenant.headers)
    patched = await client.patch(
        f"{USERS}{foreign_id}", headers=tenant.headers, json={"active": False}
    )

    assert shown.status_code == 404
    assert patched.status_code == 404
    assert [u["email"] for u in (await client.get(USERS, headers=tenant.headers)).json()] == [
        tenant.admin_email
    ]
    # The other tenant's admin still works.
    assert (await client.get("/api/v1/auth/me", headers=other_tenant.headers)).status_code == 200


async def test_unknown_department_is_422_naming_the_field_and_nothing_is_written(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    nowhere = str(uuid.uuid4())

    response = await client.post(
        USERS,
        headers=tenant.headers,
        json=_user("new@acme.example.com", ["agent"], department_id=nowhere),
    )

    assert response.status_code == 422, response.text
    assert fields_of(response.json()["error"]) == ["department_id"]
    assert await _emails(app_engine, tenant.id) == [tenant.admin_email]


async def test_patch_to_an_unknown_department_is_422_and_changes_nothing(
    client: Client, tenant: TenantHandle
) -> None:
    created = await client.post(
        USERS, headers=tenant.headers, json=_user("d@acme.example.com", ["agent"])
    )
    user_id = created.json()["id"]

    response = await client.patch(
        f"{USERS}{user_id}",
        headers=tenant.headers,
        json={"department_id": str(uuid.uuid4()), "display_name": "Moved"},
    )

    assert response.status_code == 422, response.text
    assert fields_of(response.json()["error"]) == ["department_id"]
    shown = (await client.get(f"{USERS}{user_id}", headers=tenant.headers)).json()
    assert (shown["department_id"], shown["display_name"]) == (None, "Li Lei")
