"""Delivery actors: e-mail, webhooks, and the deferred in-app inbox.

Each receives a notification id, re-reads the record in the tenant's scope and acts
only while it is `pending`, so a redelivered message does nothing twice. An attempt
is counted on the record (`attempts`, `last_error`); a failure that may pass later
raises, and Dramatiq retries with backoff (`CLOSELOOP_RETRY_MIN_BACKOFF_MS` ...); at
`MAX_ATTEMPTS`, or on a refusal no retry can fix (SMTP 5xx, webhook 4xx), the record
ends `failed` with the error and the message is done.

E-mail is sent once: the record is read, locked (`SELECT ... FOR UPDATE`), sent and
marked in one transaction around the SMTP conversation. A second delivery of the same
job (a relay that crashed after handing a message over hands it over again; a broker
redelivers) waits on the lock, then finds the record `sent`; a worker killed before the
commit leaves it `pending`, and the redelivered job sends it. One moment cannot be
covered: a worker killed after the mail server accepted the message and before that
commit. SMTP gives no way to ask whether a message arrived, so the redelivered job sends
it again; the copy has the same `Message-ID` (`<notification id@closeloop>`), by which
mail systems may drop it. Webhooks are delivered at least once: receivers tell a repeat
by `X-Closeloop-Delivery`.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Customer
from closeloop.db import utcnow
from closeloop.identity.models import User
from closeloop.logs import get_logger
from closeloop.mail import NOT_CONFIGURED, DeliveryFailed, Mailer, MailPart
from closeloop.notify.delivery import post_webhook
from closeloop.notify.models import Notification, WebhookDelivery, WebhookEndpoint
from closeloop.pii.cipher import cipher_for
from closeloop.queue import closeloop_actor, current_message, tenant_transaction
from closeloop.queue.actors import ActorFn, ActorSpec
from closeloop.settings import Settings
from closeloop.storage import storage_from_settings
from closeloop.tenancy.models import Tenant

__all__ = [
    "MAX_ATTEMPTS",
    "RetryLater",
    "mail_parts",
    "release_inbox_notification",
    "send_email_notification",
    "send_webhook_notification",
]

log = get_logger(__name__)

MAX_ATTEMPTS = 6  # the first try and five retries


class RetryLater(Exception):
    """This attempt failed and another one may succeed (Dramatiq retries the message)."""


def _delivery_actor(*, actor_name: str, time_limit: int) -> Callable[[ActorFn], ActorSpec]:
    """A delivery actor: on the `notify` queue, tried `MAX_ATTEMPTS` times at most."""
    return closeloop_actor(
        actor_name=actor_name, queue_name="notify", max_retries=MAX_ATTEMPTS, time_limit=time_limit
    )


@contextlib.asynccontextmanager
async def _pending(
    notification_id: str,
) -> AsyncIterator[tuple[AsyncSession, Notification | None]]:
    """A transaction in the message's tenant, and in it the notification, locked, while
    it is still pending (else None)."""
    async with tenant_transaction() as session:
        notification = await session.scalar(
            select(Notification)
            .where(Notification.id == uuid.UUID(notification_id))
            .with_for_update()
        )
        if notification is not None and notification.status != "pending":
            notification = None
        yield session, notification


def _settle(notification: Notification, status: str, error: str | None = None) -> None:
    notification.status = status
    notification.last_error = error
    if status == "sent":
        notification.sent_at = utcnow()


def _attempted(notification: Notification, *, error: str | None, retry: bool) -> str | None:
    """Count one attempt on the (locked, pending) record; the reason to retry, if due."""
    notification.attempts += 1
    if error is None:
        _settle(notification, "sent")
        log.info("notification sent", notification_id=str(notification.id))
        return None
    if retry and notification.attempts < MAX_ATTEMPTS:
        notification.last_error = error
        return f"attempt {notification.attempts} of {MAX_ATTEMPTS} failed: {error}"
    _settle(notification, "failed", error)
    log.warning(
        "notification failed",
        notification_id=str(notification.id),
        attempts=notification.attempts,
        error=error,
    )
    return None


async def _count_attempt(notification_id: str, *, error: str | None, retry: bool) -> None:
    """Record the outcome of one attempt; raise `RetryLater` when another is due."""
    async with _pending(notification_id) as (_, notification):
        again = _attempted(notification, error=error, retry=retry) if notification else None
    if again is not None:
        raise RetryLater(again)


async def _address(session: AsyncSession, notification: Notification) -> tuple[str | None, str]:
    """The e-mail address to send to, or None and why there is none."""
    if notification.recipient_kind == "user":
        user = await session.scalar(select(User).where(User.id == notification.recipient_user_id))
        if user is None or not user.active:
            return None, "the user is no longer active"
        return user.email, ""
    customer = await session.scalar(
        select(Customer).where(Customer.id == notification.recipient_customer_id)
    )
    if customer is None or customer.erased_at is not None or customer.email_enc is None:
        return None, "the customer has no e-mail address (any more)"
    cipher = await cipher_for(session, current_message().settings)
    return cipher.decrypt(customer.email_enc), ""


async def mail_parts(
    notification: Notification, settings: Settings
) -> tuple[str | None, list[MailPart]]:
    """The HTML alternative and the parts of an e-mail notification beyond its text:
    `payload["mail"]` = `{"html": str, "inline": [part], "attachments": [part]}`, each
    part `{"filename", "content_type", "key", "cid"?}` whose bytes are the attachment
    object `key` (`closeloop.storage`), stored before the notification was made."""
    mail = notification.payload.get("mail") if notification.payload else None
    if not mail:
        return None, []
    storage = storage_from_settings(settings)
    parts = [
        MailPart(
            filename=part["filename"],
            content_type=part["content_type"],
            data=await storage.get(part["key"]),
            cid=part.get("cid"),
        )
        for part in [*mail.get("inline", []), *mail.get("attachments", [])]
    ]
    return mail.get("html"), parts


@_delivery_actor(actor_name="send_email_notification", time_limit=90_000)
async def send_email_notification(*, tenant_id: str, message_id: str, notification_id: str) -> None:
    """Send a pending e-mail notification through `SMTP_URL`, in one transaction that
    holds the record locked from reading it to marking it (see the module's docstring)."""
    settings = current_message().settings
    mailer = Mailer(settings.smtp_url)
    async with _pending(notification_id) as (session, notification):
        if notification is None:
            return
        if mailer.target is None:
            _settle(notification, "skipped", NOT_CONFIGURED)
            return
        address, why_not = await _address(session, notification)
        if address is None:
            _settle(notification, "skipped", why_not)
            return
        tenant = await session.get(Tenant, uuid.UUID(tenant_id))
        html, parts = await mail_parts(notification, settings)
        try:
            await mailer.send(
                key=notification_id,
                to=address,
                subject=notification.subject,
                body=notification.body,
                locale=notification.locale,
                sender_name=tenant.name if tenant is not None else None,
                html=html,
                parts=parts,
            )
        except DeliveryFailed as exc:
            again = _attempted(notification, error=str(exc), retry=exc.retry)
        else:
            again = _attempted(notification, error=None, retry=False)
    if again is not None:
        raise RetryLater(again)


def webhook_body(notification: Notification) -> bytes:
    """The JSON a webhook receives: the notification's id and event, the case, the
    event's data and the rendered message."""
    document: dict[str, Any] = {
        "id": str(notification.id),
        "created_at": notification.created_at.isoformat(),
        **notification.payload,
        "subject": notification.subject,
        "body": notification.body,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@_delivery_actor(actor_name="send_webhook_notification", time_limit=60_000)
async def send_webhook_notification(
    *, tenant_id: str, message_id: str, notification_id: str
) -> None:
    """POST a pending webhook notification to its endpoint, signed; log the attempt."""
    async with _pending(notification_id) as (session, notification):
        if notification is None:
            return
        endpoint = await session.scalar(
            select(WebhookEndpoint).where(WebhookEndpoint.id == notification.webhook_id)
        )
        if endpoint is None or not endpoint.active:
            _settle(notification, "skipped", "the webhook endpoint is inactive or deleted")
            return
        cipher = await cipher_for(session, current_message().settings)
        secret = cipher.decrypt(endpoint.secret_enc)
        url, webhook_id, event = endpoint.url, endpoint.id, notification.event
        attempt = notification.attempts + 1
        body = webhook_body(notification)
    result = await post_webhook(url, secret, body, delivery_id=notification_id)
    async with tenant_transaction() as session:
        session.add(
            WebhookDelivery(
                tenant_id=uuid.UUID(tenant_id),
                webhook_id=webhook_id,
                notification_id=uuid.UUID(notification_id),
                event=event,
                attempt=attempt,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
            )
        )
    await _count_attempt(notification_id, error=result.error, retry=result.retry)


@_delivery_actor(actor_name="release_inbox_notification", time_limit=30_000)
async def release_inbox_notification(
    *, tenant_id: str, message_id: str, notification_id: str
) -> None:
    """Show a deferred inbox notification (its `not_before` has come)."""
    async with _pending(notification_id) as (_, notification):
        if notification is not None:
            notification.attempts += 1
            _settle(notification, "sent")
