"""The in-app inbox: each user sees their own messages, marks them read; another user
or another tenant gets 404; deferred messages show up once released."""

from __future__ import annotations

import datetime as dt
import uuid

import dramatiq
import notify_support as ns
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction, utcnow
from closeloop.notify import events
from closeloop.notify.models import Notification
from closeloop.notify.service import notify_staff
from support import PASSWORD, Client, TenantHandle, bearer, fields_of, login


async def _alert(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    not_before: dt.datetime | None = None,
) -> list[Notification]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return await notify_staff(
            session,
            user_ids=[user_id],
            event=events.ESCALATION,
            case=None,
            context={"level": 2, "reason": "resolution overdue"},
            not_before=not_before,
        )


async def _user(
    client: Client, tenant: TenantHandle, email: str
) -> tuple[uuid.UUID, dict[str, str]]:
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={"email": email, "display_name": "Li Lei", "password": PASSWORD, "roles": ["handler"]},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"]), bearer(await login(client, tenant.slug, email))


async def test_a_user_reads_their_inbox_and_marks_messages_read(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    handler_id, handler = await _user(client, tenant, "li@acme.example.com")
    await _alert(app_engine, tenant.id, handler_id)
    await _alert(app_engine, tenant.id, tenant.admin_id)

    inbox = (await client.get("/api/v1/inbox", headers=handler)).json()
    assert inbox["unread"] == 1
    (item,) = inbox["items"]
    assert item["event"] == "escalation"
    assert item["subject"] == "升级： 已升至第 2 级"
    assert "Li Lei" in item["body"]
    assert "resolution overdue" in item["body"]
    assert item["read_at"] is None

    # Not the admin's message, not the other tenant's: 404.
    admin_item = (await client.get("/api/v1/inbox", headers=tenant.headers)).json()["items"][0]
    response = await client.post(f"/api/v1/inbox/{admin_item['id']}/read", headers=handler)
    assert response.status_code == 404
    response = await client.post(f"/api/v1/inbox/{item['id']}/read", headers=other_tenant.headers)
    assert response.status_code == 404
    response = await client.get(f"/api/v1/notifications/{item['id']}", headers=other_tenant.headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/inbox", headers=other_tenant.headers)).json()["items"] == []

    response = await client.post(f"/api/v1/inbox/{item['id']}/read", headers=handler)
    assert response.status_code == 200, response.text
    read_at = response.json()["read_at"]
    assert read_at is not None
    again = await client.post(f"/api/v1/inbox/{item['id']}/read", headers=handler)
    assert again.json()["read_at"] == read_at
    inbox = (await client.get("/api/v1/inbox", headers=handler, params={"unread": True})).json()
    assert inbox == {"items": [], "unread": 0, "next_cursor": None}

    await _alert(app_engine, tenant.id, handler_id)
    await _alert(app_engine, tenant.id, handler_id)
    page = (await client.get("/api/v1/inbox", headers=handler, params={"limit": 2})).json()
    assert page["unread"] == 2
    assert len(page["items"]) == 2
    assert page["next_cursor"]
    rest = await client.get(
        "/api/v1/inbox", headers=handler, params={"limit": 2, "cursor": page["next_cursor"]}
    )
    assert [i["id"] for i in rest.json()["items"]] == [item["id"]]
    everything = await client.post("/api/v1/inbox/read", headers=handler)
    assert everything.status_code == 200
    assert everything.json()["unread"] == 0
    assert (await client.get("/api/v1/inbox", headers=handler)).json()["unread"] == 0


async def test_a_deferred_alert_shows_once_released_and_staff_email_goes_out(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    broker: dramatiq.Broker,
    mail: ns.Mailbox,
) -> None:
    handler_id, handler = await _user(client, tenant, "li@acme.example.com")
    made = await _alert(
        app_engine, tenant.id, handler_id, not_before=utcnow() + dt.timedelta(seconds=1)
    )
    assert sorted((n.channel, n.status) for n in made) == [
        ("email", "pending"),
        ("inbox", "pending"),
    ]
    assert (await client.get("/api/v1/inbox", headers=handler)).json()["items"] == []

    async def released() -> bool:
        await ns.relay(app_engine, broker)  # the outbox holds the jobs until they are due
        found = await ns.notifications(app_engine, tenant.id)
        return all(n.status == "sent" for n in found)

    await ns.eventually(released)
    (item,) = (await client.get("/api/v1/inbox", headers=handler)).json()["items"]
    assert item["event"] == "escalation"
    ((rcpt, message),) = mail.messages
    assert rcpt == ["li@acme.example.com"]
    assert message["Subject"] == "升级： 已升至第 2 级"


async def test_api_keys_have_no_inbox_and_agents_do_not_list_notifications(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "crm", "scopes": ["agent"]}
    )
    assert response.status_code == 201, response.text
    key = bearer(response.json()["key"])
    response = await client.get("/api/v1/inbox", headers=key)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "user_required"
    assert (await client.get("/api/v1/notifications", headers=key)).status_code == 403
    bad = await client.get("/api/v1/notifications", headers=tenant.headers, params={"status": "x"})
    assert bad.status_code == 422
    assert fields_of(bad.json()["error"]) == ["status"]
