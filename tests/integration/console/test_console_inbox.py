"""The inbox (`/console/inbox`) over HTTP: the user's own in-app notifications, marking
them read, and the header's unread count that the browser polls (204 while the same)."""

from __future__ import annotations

import re
import uuid

from console_support import console_sign_in, csrf_of, make_staff
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import new_id, sessionmaker, transaction, utcnow
from closeloop.notify.models import Notification
from support import Client, TenantHandle

STAMP = re.compile(r'id="inbox-count".*?data-live-stamp="([0-9a-f]*)"', re.S)


async def deliver(
    engine: AsyncEngine, tenant_id: uuid.UUID, user_id: uuid.UUID, subject: str
) -> uuid.UUID:
    """An in-app notification delivered to `user_id` (as the inbox channel leaves it)."""
    notification_id = new_id()
    async with transaction(sessionmaker(engine), tenant_id) as session:
        session.add(
            Notification(
                tenant_id=tenant_id,
                id=notification_id,
                recipient_kind="user",
                recipient_user_id=user_id,
                event="assignment",
                channel="inbox",
                locale="zh-CN",
                subject=subject,
                body="请尽快处理。",
                status="sent",
                sent_at=utcnow(),
            )
        )
    return notification_id


async def test_the_inbox_lists_the_users_own_notifications_and_marks_them_read(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    handler = await make_staff(client, tenant, "handler")
    first = await deliver(app_engine, tenant.id, handler.id, "新工单分派给您")
    second = await deliver(app_engine, tenant.id, handler.id, "<script>alert(1)</script>")
    admins = await deliver(app_engine, tenant.id, tenant.admin_id, "管理员的通知")
    theirs = await deliver(app_engine, other_tenant.id, other_tenant.admin_id, "别家的通知")
    await console_sign_in(client, tenant, handler.email)

    page = await client.get("/console/inbox")
    assert page.status_code == 200
    assert "新工单分派给您" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "管理员的通知" not in page.text
    assert "别家的通知" not in page.text
    assert "2 条未读" in page.text

    # The header's count: the page asks for it; the same count again is a 204.
    count = await client.get("/console/inbox/count", headers={"HX-Request": "true"})
    assert count.status_code == 200
    assert 'data-unread="2"' in count.text
    stamp = STAMP.search(count.text)
    assert stamp
    same = await client.get(
        "/console/inbox/count", headers={"HX-Request": "true", "X-Live-Stamp": stamp.group(1)}
    )
    assert same.status_code == 204

    token = csrf_of(page.text)
    read = await client.post(
        f"/console/inbox/{first}/read", data={"_csrf_token": token}, follow_redirects=False
    )
    assert read.status_code == 303
    assert read.headers["location"] == "/console/inbox"
    changed = await client.get(
        "/console/inbox/count", headers={"HX-Request": "true", "X-Live-Stamp": stamp.group(1)}
    )
    assert changed.status_code == 200
    assert 'data-unread="1"' in changed.text

    # htmx: the item comes back read, and the header is told to count again.
    item = await client.post(
        f"/console/inbox/{second}/read",
        data={"_csrf_token": token},
        headers={"HX-Request": "true"},
    )
    assert item.status_code == 200
    assert item.headers["hx-trigger"] == "closeloop:inbox"
    assert "标为已读" not in item.text
    zero = await client.get("/console/inbox/count", headers={"HX-Request": "true"})
    assert "data-unread" not in zero.text

    # Another user's or another tenant's notification: the 404 page, nothing changed.
    for foreign in (admins, theirs, uuid.uuid4()):
        response = await client.post(f"/console/inbox/{foreign}/read", data={"_csrf_token": token})
        assert response.status_code == 404
        assert "页面不存在" in response.text
    # Without the CSRF token: refused.
    await deliver(app_engine, tenant.id, handler.id, "第三条")
    refused = await client.post("/console/inbox/read", data={"_csrf_token": "forged"})
    assert refused.status_code == 403
    everything = await client.post(
        "/console/inbox/read", data={"_csrf_token": token}, follow_redirects=False
    )
    assert everything.status_code == 303
    assert "0 条未读" in (await client.get("/console/inbox")).text


async def test_every_page_of_a_signed_in_user_asks_for_the_unread_count(
    client: Client, tenant: TenantHandle
) -> None:
    await console_sign_in(client, tenant, tenant.admin_email)
    for path in ("/console/", "/console/queues/mine", "/console/board", "/console/inbox"):
        page = await client.get(path)
        assert page.status_code == 200
        assert 'hx-get="/console/inbox/count"' in page.text
