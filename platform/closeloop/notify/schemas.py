"""Request and response bodies of the notification routes."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

__all__ = [
    "BuiltinTemplateRead",
    "InboxItem",
    "InboxPage",
    "NotificationPage",
    "NotificationRead",
    "TemplateCreate",
    "TemplateRead",
    "TemplateUpdate",
    "WebhookCreate",
    "WebhookDeliveryRead",
    "WebhookRead",
    "WebhookUpdate",
]


class TemplateCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The tenant's own wording of `event` on `channel` (email, inbox, webhook) in
    `locale` (zh-CN, en). Jinja2; the event's variables only."""

    event: str
    channel: str
    locale: str
    subject: str
    body: str


class TemplateUpdate(msgspec.Struct, forbid_unknown_fields=True):
    subject: str | msgspec.UnsetType = msgspec.UNSET
    body: str | msgspec.UnsetType = msgspec.UNSET


class TemplateRead(msgspec.Struct):
    id: uuid.UUID
    event: str
    channel: str
    locale: str
    subject: str
    body: str
    created_at: dt.datetime
    updated_at: dt.datetime


class BuiltinTemplateRead(msgspec.Struct):
    """A built-in template, used where the tenant has none, and the variables its
    event gives (every template of the event may use them)."""

    event: str
    locale: str
    subject: str
    body: str
    variables: list[str]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True):
    """An endpoint: `https://` (or `http://`) URL, the events it receives, and the
    secret the body is signed with (16 to 200 characters; never shown again)."""

    url: str
    secret: str
    events: list[str]
    description: str = ""
    active: bool = True


class WebhookUpdate(msgspec.Struct, forbid_unknown_fields=True):
    url: str | msgspec.UnsetType = msgspec.UNSET
    secret: str | msgspec.UnsetType = msgspec.UNSET
    events: list[str] | msgspec.UnsetType = msgspec.UNSET
    description: str | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class WebhookRead(msgspec.Struct):
    """An endpoint as shown: the secret is write-only."""

    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookDeliveryRead(msgspec.Struct):
    """One attempt to deliver a notification: HTTP status (none on a network error),
    the error if it failed, how long it took."""

    id: uuid.UUID
    notification_id: uuid.UUID
    event: str
    attempt: int
    status_code: int | None
    error: str | None
    duration_ms: int
    at: dt.datetime


class NotificationRead(msgspec.Struct):
    """A notification record. The recipient is named by id (a user, a customer, a
    webhook endpoint); addresses are never shown here."""

    id: uuid.UUID
    event: str
    channel: str
    locale: str
    recipient_kind: str
    recipient_user_id: uuid.UUID | None
    recipient_customer_id: uuid.UUID | None
    webhook_id: uuid.UUID | None
    case_id: uuid.UUID | None
    subject: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    not_before: dt.datetime | None
    sent_at: dt.datetime | None
    read_at: dt.datetime | None
    created_at: dt.datetime


class NotificationPage(msgspec.Struct):
    items: list[NotificationRead]
    next_cursor: str | None


class InboxItem(msgspec.Struct):
    id: uuid.UUID
    event: str
    case_id: uuid.UUID | None
    subject: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class InboxPage(msgspec.Struct):
    items: list[InboxItem]
    unread: int
    next_cursor: str | None
