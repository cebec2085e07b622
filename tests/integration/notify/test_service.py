"""notify_staff / notify_customer: records per recipient and channel, rendered in the
right language, delivery jobs in the caller's transaction, skipped with a reason."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.cases.models import Case
from closeloop.db import sessionmaker, transaction
from closeloop.notify import events
from closeloop.notify.models import Notification
from closeloop.notify.service import notify_customer, notify_staff
from closeloop.queue.models import OutboxMessage
from support import Client, TenantHandle


async def _rows(engine: AsyncEngine, tenant_id: uuid.UUID, model: type) -> list:  # type: ignore[type-arg]
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return list((await session.scalars(select(model))).all())


async def test_staff_get_an_inbox_message_at_once_and_an_email_job(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        made = await notify_staff(
            session,
            user_ids=[tenant.admin_id, tenant.admin_id, uuid.uuid4()],
            event=events.SLA_BREACH,
            case=None,
            context={"target": "resolution", "due_at": "2026-11-27 18:00"},
        )
    assert sorted((n.channel, n.status) for n in made) == [("email", "pending"), ("inbox", "sent")]
    inbox = next(n for n in made if n.channel == "inbox")
    assert inbox.recipient_user_id == tenant.admin_id
    assert "2026-11-27 18:00" in inbox.body
    assert inbox.locale == "zh-CN"
    jobs = await _rows(app_engine, tenant.id, OutboxMessage)
    assert [job.actor_name for job in jobs] == ["send_email_notification"]


async def test_a_rolled_back_change_leaves_no_notification(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with factory() as session, session.begin():
        from closeloop.db import tenant_scope

        await tenant_scope(session, tenant.id)
        await notify_staff(
            session, user_ids=[tenant.admin_id], event=events.ESCALATION, case=None, context={}
        )
        await session.rollback()
    assert await _rows(app_engine, tenant.id, Notification) == []
    assert await _rows(app_engine, tenant.id, OutboxMessage) == []


async def test_a_customer_without_email_is_skipped_with_the_reason(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "快递延误一周",
            "description": "订单承诺三天送达,实际一周后才到。",
            "customer": {"nickname": "小王", "phone": "13812345678"},
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        case = await session.get(Case, (tenant.id, uuid.UUID(created["id"])))
        assert case is not None
        made = await notify_customer(
            session, case=case, event=events.PROGRESS_UPDATE, context={"message": "soon"}
        )
    skipped = [n for n in made if n.recipient_kind == "customer" and n.status == "skipped"]
    assert skipped
    assert "no e-mail address" in (skipped[0].last_error or "")
