"""HTTP for notifications: templates and webhooks (admins), the notification records
(admins and supervisors), and each user's in-app inbox."""

from __future__ import annotations

import uuid
from typing import Annotated, TypeVar

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from closeloop.crud import read_as
from closeloop.errors import Forbidden
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal
from closeloop.notify import records
from closeloop.notify.admin import WebhookService
from closeloop.notify.deps import provide_template_service, provide_webhook_service
from closeloop.notify.events import EVENTS, LOCALES, variables
from closeloop.notify.models import WebhookDelivery
from closeloop.notify.schemas import (
    BuiltinTemplateRead,
    InboxItem,
    InboxPage,
    NotificationPage,
    NotificationRead,
    TemplateCreate,
    TemplateRead,
    TemplateUpdate,
    WebhookCreate,
    WebhookDeliveryRead,
    WebhookRead,
    WebhookUpdate,
)
from closeloop.notify.templates import builtin
from closeloop.web.crud import CrudController
from closeloop.web.deps import Caller, DbSession

__all__ = [
    "NOTIFY_CONTROLLERS",
    "InboxController",
    "NotificationController",
    "TemplateController",
    "WebhookController",
]

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(description="`next_cursor` of the last page")]

S = TypeVar("S", bound=msgspec.Struct)


class _AdminController(CrudController):
    """Notification settings: admins only."""

    tags = ("notifications",)
    opt = access(Role.ADMIN)
    deletable = True


class TemplateController(_AdminController):
    path = "/api/v1/templates"
    item, provider = "template", provide_template_service
    read, create_body, update_body = TemplateRead, TemplateCreate, TemplateUpdate
    docs = {
        "list": "The tenant's own templates; where it has none, the built-in ones apply.",
        "create": "Save the tenant's wording of an event on a channel in a locale. A template "
        "that\ndoes not compile, names a variable its event does not give, or fails to render\n"
        "with a sample context is refused with 422 naming the part and line.",
        "delete": "Drop the tenant's template: the built-in one applies again.",
    }

    @get("/builtin")
    async def list_builtin_templates(self, principal: Caller) -> list[BuiltinTemplateRead]:
        """The built-in template of every event and locale, with the variables it may use."""
        return [
            BuiltinTemplateRead(
                event=event,
                locale=locale,
                subject=builtin(event, locale)[0],
                body=builtin(event, locale)[1],
                variables=sorted(variables(event)),
            )
            for event in EVENTS
            for locale in LOCALES
        ]


def _delivery(row: WebhookDelivery) -> WebhookDeliveryRead:
    return read_as(WebhookDeliveryRead, row, at=row.created_at)


class WebhookController(_AdminController):
    path = "/api/v1/webhooks"
    item, provider = "webhook", provide_webhook_service
    read, create_body, update_body = WebhookRead, WebhookCreate, WebhookUpdate
    docs = {
        "create": "Add an endpoint. Each event it subscribes to is POSTed as JSON with\n"
        "`X-Closeloop-Timestamp` and `X-Closeloop-Signature: sha256=<HMAC-SHA256 of\n"
        '"<timestamp>.<body>" under the secret>`; retried with backoff on network errors\n'
        "and 5xx answers. The secret is never shown again.",
        "update": "Change the fields given; a new `secret` signs from the next delivery on.",
        "delete": "Remove the endpoint and its delivery log; its notifications stay on record.",
    }

    @get("/{webhook_id:uuid}/deliveries")
    async def list_webhook_deliveries(
        self,
        principal: Caller,
        service: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        limit: Limit = 100,
    ) -> list[WebhookDeliveryRead]:
        """Every delivery attempt to the endpoint, newest first."""
        return [_delivery(row) for row in await service.deliveries(webhook_id, limit=limit)]


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ("notifications",)
    opt = access(Role.ADMIN, Role.SUPERVISOR)

    @get("/")
    async def list_notifications(
        self,
        db_session: DbSession,
        principal: Caller,
        status: Annotated[
            str | None, QueryParameter(description="pending, sent, failed or skipped")
        ] = None,
        event: FromQuery[str | None] = None,
        channel: FromQuery[str | None] = None,
        case_id: FromQuery[uuid.UUID | None] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> NotificationPage:
        """Every notification of the tenant, newest first: what was sent, what is pending,
        what failed (with the error after the retry budget) or was skipped (why)."""
        filters = records.NotificationFilters(
            status=status, event=event, channel=channel, case_id=case_id
        )
        rows, next_cursor = await records.list_notifications(
            db_session, filters, limit=limit, cursor=cursor
        )
        return NotificationPage(
            items=[read_as(NotificationRead, r) for r in rows], next_cursor=next_cursor
        )

    @get("/{notification_id:uuid}")
    async def get_notification(
        self, db_session: DbSession, principal: Caller, notification_id: FromPath[uuid.UUID]
    ) -> NotificationRead:
        return read_as(
            NotificationRead, await records.get_notification(db_session, notification_id)
        )


def _user(principal: Principal) -> uuid.UUID:
    if principal.user_id is None:
        raise Forbidden("the inbox belongs to a user; API keys have none", code="user_required")
    return principal.user_id


class InboxController(Controller):
    path = "/api/v1/inbox"
    tags = ("notifications",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_inbox(
        self,
        db_session: DbSession,
        principal: Caller,
        unread: Annotated[bool, QueryParameter(description="only unread messages")] = False,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> InboxPage:
        """The caller's in-app notifications, newest first, with the unread count."""
        user_id = _user(principal)
        rows, next_cursor = await records.inbox(
            db_session, user_id, unread_only=unread, limit=limit, cursor=cursor
        )
        return InboxPage(
            items=[read_as(InboxItem, row) for row in rows],
            unread=await records.unread_count(db_session, user_id),
            next_cursor=next_cursor,
        )

    @post("/{notification_id:uuid}/read", status_code=200)
    async def mark_inbox_read(
        self, db_session: DbSession, principal: Caller, notification_id: FromPath[uuid.UUID]
    ) -> InboxItem:
        """Mark one of the caller's messages read (again: no change)."""
        user_id = _user(principal)
        return read_as(InboxItem, await records.mark_read(db_session, user_id, notification_id))

    @post("/read", status_code=200)
    async def mark_inbox_all_read(self, db_session: DbSession, principal: Caller) -> InboxPage:
        """Mark all the caller's messages read; answers the first page."""
        user_id = _user(principal)
        await records.mark_all_read(db_session, user_id)
        rows, next_cursor = await records.inbox(
            db_session, user_id, unread_only=False, limit=50, cursor=None
        )
        return InboxPage(
            items=[read_as(InboxItem, row) for row in rows], unread=0, next_cursor=next_cursor
        )


NOTIFY_CONTROLLERS = [
    TemplateController,
    WebhookController,
    NotificationController,
    InboxController,
]
