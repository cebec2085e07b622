"""Making notifications: one record per recipient and channel, rendered at once,
delivered by the notify actors through the transactional outbox.

    await notify_customer(session, case=case, event=events.RESULT, context={"message": ...})
    await notify_staff(session, user_ids=[handler_id], event=events.SLA_BREACH, case=case,
                       context={"target": "resolution", "due_at": case.due_at})

Both run in the caller's transaction (bound to the tenant): the records and their
delivery jobs commit or roll back with the change that caused them. They never raise
for a recipient that cannot be reached: such a message is recorded as `skipped` with
the reason, so nothing is silently lost.

* **Staff** (`notify_staff`): the in-app inbox always (sent at once, or at
  `not_before`), and e-mail to the user's address. Inactive or unknown users are
  left out. Staff working hours are the caller's concern: pass `not_before`.
* **Customers** (`notify_customer`): e-mail when the customer has an address (the
  address stays encrypted in the customer record and is decrypted only to send);
  otherwise one `skipped` record naming the reason (SMS and other channels are not
  built).
* **Webhooks**: every active endpoint of the tenant subscribed to the event gets one
  notification per event (not per staff recipient).

Context values may be str, numbers, dates or datetimes (shown in the tenant's time
zone, `YYYY-MM-DD HH:MM`); every template variable not given is an empty string.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import any_, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import jsonable
from closeloop.cases.models import Case, Customer
from closeloop.cases.snapshot import WEBHOOK_CASE, snapshot
from closeloop.config import current
from closeloop.config.models import Severity
from closeloop.db import TenantNotBound, bound_tenant, new_id, utcnow
from closeloop.identity.models import User
from closeloop.notify import events
from closeloop.notify.models import Notification, NotificationTemplate, WebhookEndpoint
from closeloop.notify.templates import builtin, render_pair
from closeloop.queue.outbox import enqueue
from closeloop.tenancy.models import Tenant

__all__ = [
    "ACTOR_FOR_CHANNEL",
    "NotificationStatus",
    "email_staff",
    "notify_customer",
    "notify_staff",
]

# The templates and webhooks are cached per process (`config.current.shared`);
# a change to either, flushed in the same transaction, is seen by the next read.
current.watch(NotificationTemplate, WebhookEndpoint)

# The actor that delivers each channel (declared in closeloop.notify.actors).
ACTOR_FOR_CHANNEL = {
    "email": "send_email_notification",
    "webhook": "send_webhook_notification",
    "inbox": "release_inbox_notification",
}


class NotificationStatus:
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclasses.dataclass
class _Scope:
    """What every notification of one call shares."""

    tenant: Tenant
    zone: zoneinfo.ZoneInfo
    case: Case | None
    base: dict[str, Any]


def _tenant_id(session: AsyncSession) -> uuid.UUID:
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise TenantNotBound("notifications belong to a tenant; bind one first")
    return tenant_id


def _shown(value: Any, zone: zoneinfo.ZoneInfo) -> Any:
    """A context value as a template shows it."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


async def _scope(
    session: AsyncSession, event: str, case: Case | None, locale_hint: str | None = None
) -> _Scope:
    if event not in events.EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    _tenant_id(session)  # TenantNotBound unless a tenant is bound
    tenant = await current.tenant(session)
    zone = zoneinfo.ZoneInfo(tenant.timezone)
    base: dict[str, Any] = {name: "" for name in events.variables(event)}
    base["tenant_name"] = tenant.name
    if case is not None:
        base.update(
            case_number=case.number,
            case_title=case.title,
            case_status=case.status,
            severity=case.severity_code or "",
        )
        if event == events.ACKNOWLEDGEMENT:
            base["reply_by"] = _shown(case.due_at, zone)
    return _Scope(tenant=tenant, zone=zone, case=case, base=base)


async def _severity_name(session: AsyncSession, case: Case | None, locale: str) -> str | None:
    if case is None or case.severity_id is None:
        return None
    severity = next(
        (s for s in await current.severities(session) if s.id == case.severity_id), None
    )
    if severity is None:  # deactivated since: not among the active ones
        severity = await session.scalar(select(Severity).where(Severity.id == case.severity_id))
    if severity is None:
        return None
    return severity.name_en if locale == "en" else severity.name_zh


async def _template(
    session: AsyncSession, event: str, channel: str, locale: str
) -> tuple[str, str]:
    """The tenant's own `(subject, body)` for the event, channel and locale, else the
    built-in one."""

    async def load() -> dict[tuple[str, str], tuple[str, str]]:
        rows = await session.scalars(
            select(NotificationTemplate).where(NotificationTemplate.event == event)
        )
        return {(row.channel, row.locale): (row.subject, row.body) for row in rows}

    own = await current.shared(session, ("notification_templates", event), load)
    return own.get((channel, locale)) or builtin(event, locale)


async def _rendered(
    session: AsyncSession,
    scope: _Scope,
    *,
    event: str,
    channel: str,
    locale: str,
    context: Mapping[str, Any],
    recipient_name: str = "",
) -> tuple[str, str, str | None]:
    """`(subject, body, error)`; a template that fails to render gives the error."""
    values = dict(scope.base)
    severity = await _severity_name(session, scope.case, locale)
    if severity:
        values["severity"] = severity
    values["recipient_name"] = recipient_name
    values.update({key: _shown(value, scope.zone) for key, value in context.items()})
    subject, body = await _template(session, event, channel, locale)
    try:
        rendered_subject, rendered_body = render_pair(subject, body, values)
    except Exception as exc:  # a template may fail in many ways
        return "", "", f"template of {event}/{channel}/{locale} failed: {exc}"
    return rendered_subject, rendered_body, None


def _payload(scope: _Scope, event: str, locale: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """The data part of a webhook body (no personal data of the customer)."""
    case = scope.case
    payload: dict[str, Any] = jsonable(
        {
            "event": event,
            "tenant": scope.tenant.slug,
            "locale": locale,
            "case": None if case is None else snapshot(case, WEBHOOK_CASE),
            "data": {key: _shown(value, scope.zone) for key, value in context.items()},
        }
    )
    return payload


async def _add(
    session: AsyncSession,
    scope: _Scope,
    *,
    event: str,
    channel: str,
    locale: str,
    recipient_kind: str,
    context: Mapping[str, Any],
    recipient_name: str = "",
    user_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    webhook_id: uuid.UUID | None = None,
    not_before: dt.datetime | None = None,
    skipped: str | None = None,
    mail: Mapping[str, Any] | None = None,
) -> Notification:
    """Store one notification and, unless it is already settled, enqueue its delivery.
    `mail` (e-mail only) is the message's other parts (`closeloop.notify.actors`)."""
    tenant_id = _tenant_id(session)
    subject, body, error = await _rendered(
        session,
        scope,
        event=event,
        channel=channel,
        locale=locale,
        context=context,
        recipient_name=recipient_name,
    )
    now = utcnow()
    deferred = not_before is not None and not_before > now
    status = NotificationStatus.PENDING
    if skipped is not None:
        status = NotificationStatus.SKIPPED
    elif error is not None:
        status = NotificationStatus.FAILED
    elif channel == "inbox" and not deferred:
        status = NotificationStatus.SENT
    notification = rows.new(
        Notification,
        tenant_id=tenant_id,
        id=new_id(),
        recipient_kind=recipient_kind,
        recipient_user_id=user_id,
        recipient_customer_id=customer_id,
        webhook_id=webhook_id,
        case_id=scope.case.id if scope.case is not None else None,
        event=event,
        channel=channel,
        locale=locale,
        subject=subject,
        body=body,
        payload=(
            _payload(scope, event, locale, context)
            if channel == "webhook"
            else ({"mail": dict(mail)} if mail else {})
        ),
        status=status,
        attempts=0,
        last_error=skipped or error,
        not_before=not_before if deferred else None,
        sent_at=now if status == NotificationStatus.SENT else None,
    )
    await rows.insert(session, notification)
    if status == NotificationStatus.PENDING:
        delay_ms = int((not_before - now).total_seconds() * 1000) if deferred else None  # type: ignore[operator]
        await enqueue(
            session,
            ACTOR_FOR_CHANNEL[channel],
            tenant_id=tenant_id,
            delay_ms=delay_ms,
            notification_id=str(notification.id),
        )
    return notification


async def _webhooks(
    session: AsyncSession,
    scope: _Scope,
    *,
    event: str,
    context: Mapping[str, Any],
    not_before: dt.datetime | None = None,
) -> list[Notification]:
    async def load() -> list[uuid.UUID]:
        query = (
            select(WebhookEndpoint.id)
            .where(WebhookEndpoint.active.is_(True), literal(event) == any_(WebhookEndpoint.events))
            .order_by(WebhookEndpoint.created_at)
        )
        return list((await session.scalars(query)).all())

    endpoint_ids = await current.shared(session, ("webhook_endpoints", event), load)
    locale = events.locale_of(scope.tenant.locale)
    return [
        await _add(
            session,
            scope,
            event=event,
            channel="webhook",
            locale=locale,
            recipient_kind="webhook",
            context=context,
            webhook_id=endpoint_id,
            not_before=not_before,
        )
        for endpoint_id in endpoint_ids
    ]


async def notify_staff(
    session: AsyncSession,
    *,
    user_ids: Sequence[uuid.UUID],
    event: str,
    case: Case | None,
    context: Mapping[str, Any],
    not_before: dt.datetime | None = None,
) -> list[Notification]:
    """Alert staff members about `event` (see `closeloop.notify.events.STAFF_EVENTS`):
    an inbox message each, and an e-mail each to their address; plus the tenant's
    webhooks subscribed to the event. `not_before` defers delivery (working hours).
    Unknown or inactive users are left out; a user named twice is notified once."""
    scope = await _scope(session, event, case)
    wanted = list(dict.fromkeys(user_ids))
    users = (
        (
            await session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)))
        ).all()
        if wanted
        else []
    )
    by_id = {user.id: user for user in users}
    locale = events.locale_of(scope.tenant.locale)
    made: list[Notification] = []
    for user_id in wanted:
        user = by_id.get(user_id)
        if user is None:
            continue
        for channel in ("inbox", "email") if user.email else ("inbox",):
            made.append(
                await _add(
                    session,
                    scope,
                    event=event,
                    channel=channel,
                    locale=locale,
                    recipient_kind="user",
                    context=context,
                    recipient_name=user.display_name,
                    user_id=user.id,
                    not_before=not_before,
                )
            )
    made.extend(
        await _webhooks(session, scope, event=event, context=context, not_before=not_before)
    )
    return made


async def email_staff(
    session: AsyncSession,
    *,
    user: User,
    event: str,
    locale: str,
    context: Mapping[str, Any],
    mail: Mapping[str, Any] | None = None,
    skipped: str | None = None,
) -> Notification:
    """One e-mail to a staff member (no inbox message, no webhook): the scheduled
    reports. `mail` carries the HTML alternative, inline images and attachments
    (`{"html": ..., "inline": [...], "attachments": [...]}`, parts stored as attachment
    objects, see `closeloop.notify.actors.mail_parts`); `skipped` records why it is
    not sent instead."""
    scope = await _scope(session, event, None)
    return await _add(
        session,
        scope,
        event=event,
        channel="email",
        locale=locale,
        recipient_kind="user",
        context=context,
        recipient_name=user.display_name,
        user_id=user.id,
        skipped=skipped if skipped is not None else (None if user.email else "no address"),
        mail=mail,
    )


def _unreachable(case: Case, customer: Customer | None) -> str | None:
    """Why the customer cannot be told, or None when e-mail can carry the message."""
    if customer is None:
        return "the case has no customer to notify"
    if customer.erased_at is not None:
        return "the customer's personal data was erased"
    if customer.email_enc is None:
        return (
            f"the customer has no e-mail address; the case came in by {case.channel} "
            "and only e-mail can carry messages to customers (SMS is not available)"
        )
    return None


async def notify_customer(
    session: AsyncSession,
    *,
    case: Case,
    event: str,
    context: Mapping[str, Any],
) -> list[Notification]:
    """Tell the case's customer about `event` (see `events.CUSTOMER_EVENTS`) in their
    language (the customer's locale, else the tenant's): by e-mail when they have an
    address, else a `skipped` record with the reason; plus the tenant's subscribed
    webhooks. The customer is read by primary key, so a caller that holds it (intake)
    costs no query."""
    scope = await _scope(session, event, case)
    customer = (
        await session.get(Customer, (case.tenant_id, case.customer_id))
        if case.customer_id is not None
        else None
    )
    locale = events.locale_of(
        customer.locale if customer is not None else None,
        default=events.locale_of(scope.tenant.locale),
    )
    made = [
        await _add(
            session,
            scope,
            event=event,
            channel="email",
            locale=locale,
            recipient_kind="customer",
            context=context,
            recipient_name=(customer.nickname or "") if customer is not None else "",
            customer_id=customer.id if customer is not None else None,
            skipped=_unreachable(case, customer),
        )
    ]
    made.extend(await _webhooks(session, scope, event=event, context=context))
    return made
