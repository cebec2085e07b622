"""E-mail through a real SMTP server started by the test (aiosmtpd): the acknowledgement
of a new case arrives in the customer's language; a failing server ends as a failed
notification, with the error, after the retry budget, visible through the API."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import notify_support as ns
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker
from closeloop.notify.actors import MAX_ATTEMPTS
from closeloop.queue import runtime
from closeloop.queue.registry import actor_spec
from closeloop.settings import Settings
from support import Client, TenantHandle


@pytest.fixture
def slow_mail(settings: Settings) -> Iterator[ns.Mailbox]:
    """An SMTP server that takes half a second to accept each message."""
    with ns.smtp_server(delay=0.5) as (url, mailbox):
        runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
        yield mailbox


def _intake(**customer: Any) -> dict[str, Any]:
    return {
        "kind": "complaint",
        "channel": "email",
        "title": "Kettle leaks 电水壶漏水",
        "description": "The kettle leaks from the base after two weeks.",
        "customer": {"nickname": "Sam", **customer},
    }


async def _case(client: Client, tenant: TenantHandle, **customer: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/cases", headers=tenant.headers, json=_intake(**customer))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_acknowledgement_arrives_by_email_in_the_customers_language(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    broker: dramatiq.Broker,
    mail: ns.Mailbox,
) -> None:
    english = await _case(client, tenant, email="sam@example.net", locale="en")
    chinese = await _case(client, tenant, email="wang@example.cn")  # tenant's locale: zh-CN
    assert await ns.relay(app_engine, broker) >= 2

    async def both_sent() -> bool:
        sent = [n for n in await ns.notifications(app_engine, tenant.id) if n.status == "sent"]
        return len([n for n in sent if n.channel == "email"]) == 2

    await ns.eventually(both_sent)
    by_recipient = {rcpt[0]: message for rcpt, message in mail.messages}
    assert set(by_recipient) == {"sam@example.net", "wang@example.cn"}

    en = by_recipient["sam@example.net"]
    assert en["Subject"] == f"[acme Ltd] We have received your case {english['number']}"
    assert en["Content-Language"] == "en"
    assert en["From"] == "acme Ltd <service@acme.example.com>"
    text = en.get_content()
    assert f"as case {english['number']}" in text
    assert "Severity:" in text
    assert "We will reply" in text

    zh = by_recipient["wang@example.cn"]
    assert zh["Subject"] == f"【acme Ltd】已受理您的反馈 {chinese['number']}"
    assert zh["Content-Language"] == "zh-CN"
    text = zh.get_content()
    assert f"受理编号 {chinese['number']}" in text
    assert "紧急程度" in text
    assert "答复您" in text


async def test_a_failing_smtp_server_ends_as_a_failed_notification_visible_through_the_api(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    broker: dramatiq.Broker,
    dead_smtp: str,
) -> None:
    case = await _case(client, tenant, email="sam@example.net", locale="en")
    await ns.relay(app_engine, broker)

    async def settled() -> bool:
        emails = [n for n in await ns.notifications(app_engine, tenant.id) if n.channel == "email"]
        return bool(emails) and emails[0].status != "pending"

    await ns.eventually(settled)
    response = await client.get(
        "/api/v1/notifications", headers=tenant.headers, params={"status": "failed"}
    )
    assert response.status_code == 200, response.text
    (failed,) = response.json()["items"]
    assert failed["event"] == "acknowledgement"
    assert failed["channel"] == "email"
    assert failed["recipient_kind"] == "customer"
    assert failed["case_id"] == case["id"]
    assert failed["attempts"] == MAX_ATTEMPTS
    assert failed["last_error"].startswith("SMTP ")
    assert "sam@example.net" not in response.text  # the address is never shown here

    pending = await client.get(
        "/api/v1/notifications", headers=tenant.headers, params={"status": "pending"}
    )
    assert pending.json()["items"] == []


async def test_without_smtp_url_an_email_is_skipped_with_the_reason(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, broker: dramatiq.Broker
) -> None:
    # The test settings have no SMTP_URL (the `mail` fixture is not used here).
    await _case(client, tenant, email="sam@example.net")
    await ns.relay(app_engine, broker)

    async def skipped() -> bool:
        found = await ns.notifications(app_engine, tenant.id)
        return any(n.status == "skipped" for n in found)

    await ns.eventually(skipped)
    (note,) = [n for n in await ns.notifications(app_engine, tenant.id) if n.channel == "email"]
    assert note.last_error == "no mail server is configured (SMTP_URL is unset)"


async def test_a_customer_without_an_email_address_is_recorded_as_skipped(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    await _case(client, tenant, phone="13812345678")
    (note,) = await ns.notifications(app_engine, tenant.id)
    assert (note.recipient_kind, note.status) == ("customer", "skipped")
    assert "no e-mail address" in (note.last_error or "")
    assert "SMS" in (note.last_error or "")


async def test_two_deliveries_of_one_email_job_at_once_send_one_email(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle, slow_mail: ns.Mailbox
) -> None:
    """A relay that crashed after handing a job to the broker hands it over again, and
    two workers may run the copies at once: the customer still gets one e-mail."""
    await _case(client, tenant, email="sam@example.net", locale="en")
    [pending] = [n for n in await ns.notifications(app_engine, tenant.id) if n.channel == "email"]
    spec = actor_spec("send_email_notification")
    message_id = str(uuid.uuid4())
    kwargs = {"tenant_id": str(tenant.id), "notification_id": str(pending.id)}
    factory = sessionmaker(app_engine)
    handled = await asyncio.gather(
        *(spec.handle(message_id=message_id, kwargs=kwargs, sessionmaker=factory) for _ in "ab")
    )
    assert sorted(handled) == [False, True]  # the second found the job done
    assert [rcpt for rcpt, _ in slow_mail.messages] == [["sam@example.net"]]
    [sent] = [n for n in await ns.notifications(app_engine, tenant.id) if n.channel == "email"]
    assert (sent.status, sent.attempts) == ("sent", 1)
