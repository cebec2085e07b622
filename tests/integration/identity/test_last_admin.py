"""A tenant can never lock itself out: its last active admin keeps the role and stays active,
through the users API and through a tenant file, and two requests at once cannot both
take the last two admins away."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.config.files import apply_tenant_file, load_tenant_file
from closeloop.db import sessionmaker, transaction
from closeloop.errors import Conflict
from closeloop.identity.models import User
from closeloop.identity.service import UserService
from closeloop.settings import Settings
from integration.cases.case_support import concurrent_client
from support import PASSWORD, Client, TenantHandle, bearer, fields_of

USERS = "/api/v1/users/"


async def _active_admins(app_engine: AsyncEngine, tenant_id: uuid.UUID) -> list[str]:
    async with transaction(sessionmaker(app_engine), tenant_id) as session:
        users = (await session.scalars(select(User).order_by(User.email))).all()
        return [u.email for u in users if u.active and "admin" in u.roles]


async def _second_admin(client: Client, tenant: TenantHandle) -> str:
    response = await client.post(
        USERS,
        headers=tenant.headers,
        json={
            "email": f"second@{tenant.slug}.example.com",
            "display_name": "Second admin",
            "password": PASSWORD,
            "roles": ["admin"],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"roles": ["agent"]}, "roles"),
        ({"roles": []}, "roles"),
        ({"active": False}, "active"),
        ({"active": False, "roles": ["viewer"]}, "active"),
    ],
    ids=["demoted", "every-role-removed", "deactivated", "both"],
)
async def test_the_last_active_admin_cannot_be_demoted_or_deactivated(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    change: dict[str, object],
    field: str,
) -> None:
    response = await client.patch(f"{USERS}{tenant.admin_id}", headers=tenant.headers, json=change)

    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "last_admin"
    assert fields_of(error) == [field]
    assert tenant.admin_email in error["message"]
    assert await _active_admins(app_engine, tenant.id) == [tenant.admin_email]
    assert (await client.get("/api/v1/auth/me", headers=tenant.headers)).status_code == 200


async def test_an_admin_may_go_while_another_active_admin_stays(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    second = await _second_admin(client, tenant)

    demoted = await client.patch(f"{USERS}{second}", headers=tenant.headers, json={"roles": []})
    assert demoted.status_code == 200, demoted.text
    # The other admin is now the last one; an inactive admin does not count.
    promoted_inactive = await client.patch(
        f"{USERS}{second}", headers=tenant.headers, json={"roles": ["admin"], "active": False}
    )
    assert promoted_inactive.status_code == 200, promoted_inactive.text
    refused = await client.patch(
        f"{USERS}{tenant.admin_id}", headers=tenant.headers, json={"active": False}
    )

    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "last_admin"
    assert await _active_admins(app_engine, tenant.id) == [tenant.admin_email]


async def test_an_admin_may_step_down_when_another_is_left(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    await _second_admin(client, tenant)

    own = await client.patch(
        f"{USERS}{tenant.admin_id}", headers=tenant.headers, json={"roles": ["supervisor"]}
    )

    assert own.status_code == 200, own.text
    assert await _active_admins(app_engine, tenant.id) == [f"second@{tenant.slug}.example.com"]


async def test_demoting_both_of_the_last_two_admins_leaves_one(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    second = await _second_admin(client, tenant)
    key = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "ops", "scopes": ["admin"]}
    )
    assert key.status_code == 201, key.text
    admin_key = bearer(key.json()["key"])

    first = await client.patch(f"{USERS}{second}", headers=admin_key, json={"roles": ["agent"]})
    then = await client.patch(
        f"{USERS}{tenant.admin_id}", headers=admin_key, json={"active": False}
    )

    assert first.status_code == 200, first.text
    assert then.status_code == 409, then.text
    assert await _active_admins(app_engine, tenant.id) == [tenant.admin_email]


async def test_two_requests_at_once_taking_away_the_last_two_admins_leave_one(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    second = await _second_admin(client, tenant)
    key = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "ops", "scopes": ["admin"]}
    )
    assert key.status_code == 201, key.text
    admin_key = bearer(key.json()["key"])

    async with concurrent_client(settings) as concurrent:  # the requests really overlap
        answers = await asyncio.gather(
            concurrent.patch(f"{USERS}{second}", headers=admin_key, json={"roles": ["agent"]}),
            concurrent.patch(
                f"{USERS}{tenant.admin_id}", headers=admin_key, json={"active": False}
            ),
        )

    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] == "last_admin"
    assert len(await _active_admins(app_engine, tenant.id)) == 1


async def _waiting_on_a_lock(app_engine: AsyncEngine, task: asyncio.Task[object]) -> None:
    """Until `task` ends or some connection of the test database waits on a lock."""
    async with app_engine.connect() as conn:
        while not task.done():
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            await conn.rollback()  # the activity view is read once per transaction
            if waiting:
                return
            await asyncio.sleep(0.01)


async def test_the_second_of_two_overlapping_demotions_waits_and_is_refused(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    """The first transaction demotes one admin and has not committed when the second
    checks the other: without a lock both would see one admin left and both commit."""
    second = uuid.UUID(await _second_admin(client, tenant))
    factory = sessionmaker(app_engine)

    async def demote(user_id: uuid.UUID) -> None:
        async with transaction(factory, tenant.id) as session:
            await UserService(session).update(user_id, roles=["agent"])

    async with transaction(factory, tenant.id) as first:
        await UserService(first).update(tenant.admin_id, roles=["agent"])
        overlapping = asyncio.create_task(demote(second))
        await _waiting_on_a_lock(app_engine, overlapping)
        # Leaving the block commits the first demotion.

    with pytest.raises(Conflict) as refused:
        await overlapping
    assert refused.value.code == "last_admin"
    assert await _active_admins(app_engine, tenant.id) == [f"second@{tenant.slug}.example.com"]


FILE = """\
[tenant]
slug = "handover"
name = "Handover Ltd"

[[users]]
email = "old@handover.example.com"
display_name = "Old admin"
roles = [{old_roles}]
password = "a long enough password"
{new_user}
"""
NEW_ADMIN = """
[[users]]
email = "new@handover.example.com"
display_name = "New admin"
roles = ["admin"]
password = "a long enough password"
"""


async def _apply(app_engine: AsyncEngine, source: str) -> None:
    async with transaction(sessionmaker(app_engine)) as session:
        await apply_tenant_file(session, load_tenant_file("handover.toml", text=source))


async def test_a_tenant_file_may_hand_the_admin_role_to_a_user_it_adds_later_in_the_file(
    app_engine: AsyncEngine,
) -> None:
    await _apply(app_engine, FILE.format(old_roles='"admin"', new_user=""))

    # The old admin comes first in the file and is demoted; the new one is added after.
    await _apply(app_engine, FILE.format(old_roles='"agent"', new_user=NEW_ADMIN))

    async with transaction(sessionmaker(app_engine)) as session:
        tenant_id = await session.scalar(text("SELECT id FROM tenants WHERE slug = 'handover'"))
    assert await _active_admins(app_engine, tenant_id) == ["new@handover.example.com"]


async def test_a_tenant_file_demoting_an_admin_while_another_change_deactivates_the_other(
    app_engine: AsyncEngine,
) -> None:
    """The file keeps only the new admin; a users API change at the same moment
    deactivates the new admin: the one that comes second is refused."""
    await _apply(app_engine, FILE.format(old_roles='"admin"', new_user=NEW_ADMIN))
    factory = sessionmaker(app_engine)
    async with transaction(factory) as session:
        tenant_id = await session.scalar(text("SELECT id FROM tenants WHERE slug = 'handover'"))
    async with transaction(factory, tenant_id) as session:
        new_id = await session.scalar(
            select(User.id).where(User.email == "new@handover.example.com")
        )
    assert new_id is not None

    async def deactivate_the_new_admin() -> None:
        async with transaction(factory, tenant_id) as session:
            await UserService(session, actor="admin").update(new_id, active=False)

    demoting = load_tenant_file(
        "handover.toml", text=FILE.format(old_roles='"agent"', new_user=NEW_ADMIN)
    )
    async with transaction(factory) as session:
        await apply_tenant_file(session, demoting)
        overlapping = asyncio.create_task(deactivate_the_new_admin())
        await _waiting_on_a_lock(app_engine, overlapping)

    with pytest.raises(Conflict) as refused:
        await overlapping
    assert refused.value.code == "last_admin"
    assert await _active_admins(app_engine, tenant_id) == ["new@handover.example.com"]
