"""Tenant configuration of notifications: own templates and webhook endpoints.

Admins only (the controllers check). Every write is audited in its transaction; a
webhook secret never reaches the audit trail (only `"secret_changed": true`), and is
stored encrypted under the tenant's data key.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from closeloop.crud import AuditedService, fields_of
from closeloop.db import new_id
from closeloop.errors import Conflict, UnprocessableEntity
from closeloop.notify.events import CHANNELS, EVENTS, LOCALES
from closeloop.notify.models import NotificationTemplate, WebhookDelivery, WebhookEndpoint
from closeloop.notify.templates import TemplateProblem, check
from closeloop.pii.cipher import cipher_for

__all__ = ["TemplateService", "WebhookService"]

SECRET_MIN, SECRET_MAX = 16, 200
URL_MAX = 2000


def _invalid(field: str, message: str, **details: Any) -> UnprocessableEntity:
    return UnprocessableEntity(f"{field}: {message}", field=field, details=details)


def _one_of(field: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise _invalid(field, f"must be one of {', '.join(allowed)}, got {value!r}")


class TemplateService(AuditedService[NotificationTemplate]):
    model, entity, label = NotificationTemplate, "notification_template", "template"

    def ordering(self) -> tuple[Any, ...]:
        return (
            NotificationTemplate.event,
            NotificationTemplate.channel,
            NotificationTemplate.locale,
        )

    async def snapshot(self, row: NotificationTemplate) -> dict[str, Any]:
        return fields_of(row, ("event", "channel", "locale", "subject", "body"))

    @staticmethod
    def _checked(event: str, subject: str, body: str) -> None:
        try:
            check(event, subject, body)
        except TemplateProblem as problem:
            raise UnprocessableEntity(
                str(problem),
                code="template_invalid",
                field=problem.part,
                details={"line": problem.line, "problem": problem.message},
            ) from None

    async def create(self, values: dict[str, Any]) -> NotificationTemplate:
        _one_of("event", values["event"], EVENTS)
        _one_of("channel", values["channel"], CHANNELS)
        _one_of("locale", values["locale"], LOCALES)
        self._checked(values["event"], values["subject"], values["body"])
        row = NotificationTemplate(tenant_id=self.tenant(), id=new_id(), **values)
        exists = Conflict(
            f"a template for {values['event']} on {values['channel']} in "
            f"{values['locale']} exists; change that one",
            code="template_exists",
        )
        await self.insert(row, lambda _: exists)
        await self.audit_create(row)
        return row

    async def update(self, template_id: uuid.UUID, values: dict[str, Any]) -> NotificationTemplate:
        row = await self.get(template_id)
        before = await self.snapshot(row)
        subject = values.get("subject", row.subject)
        body = values.get("body", row.body)
        self._checked(row.event, subject, body)
        row.subject, row.body = subject, body
        await self.audit_update(row, before)
        return row


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise _invalid("url", "give an http:// or https:// URL with a host")
    if len(url) > URL_MAX:
        raise _invalid("url", f"at most {URL_MAX} characters")
    if parts.username or parts.password:
        raise _invalid("url", "credentials do not belong in the URL; the body is signed")
    return url


def _check_secret(secret: str) -> str:
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise _invalid("secret", f"give {SECRET_MIN} to {SECRET_MAX} characters")
    return secret


def _check_events(names: list[str]) -> list[str]:
    if not names:
        raise _invalid("events", "name at least one event")
    for index, name in enumerate(names):
        if name not in EVENTS:
            raise _invalid(
                f"events[{index}]", f"unknown event {name!r}; one of {', '.join(EVENTS)}"
            )
    return list(dict.fromkeys(names))


class WebhookService(AuditedService[WebhookEndpoint]):
    """Deleting an endpoint removes its delivery log; its notifications stay on record."""

    model, entity, label = WebhookEndpoint, "webhook", "webhook"

    def ordering(self) -> tuple[Any, ...]:
        return (WebhookEndpoint.created_at, WebhookEndpoint.id)

    async def snapshot(self, row: WebhookEndpoint) -> dict[str, Any]:
        return {
            "url": row.url,
            "description": row.description,
            "events": list(row.events),
            "active": row.active,
        }

    async def _encrypt(self, secret: str) -> bytes:
        assert self.settings is not None, "WebhookService needs the settings (the data keys)"
        return (await cipher_for(self.session, self.settings)).encrypt(secret)

    async def create(self, values: dict[str, Any]) -> WebhookEndpoint:
        row = WebhookEndpoint(
            tenant_id=self.tenant(),
            id=new_id(),
            url=_check_url(values["url"]),
            description=values.get("description", "")[:200],
            secret_enc=await self._encrypt(_check_secret(values["secret"])),
            events=_check_events(values["events"]),
            active=values.get("active", True),
        )
        self.session.add(row)
        await self.session.flush()
        await self.audit_create(row)
        return row

    async def update(self, webhook_id: uuid.UUID, values: dict[str, Any]) -> WebhookEndpoint:
        row = await self.get(webhook_id)
        before = await self.snapshot(row)
        if "url" in values:
            row.url = _check_url(values["url"])
        if "events" in values:
            row.events = _check_events(values["events"])
        if "description" in values:
            row.description = values["description"][:200]
        if "active" in values:
            row.active = values["active"]
        if "secret" in values:
            row.secret_enc = await self._encrypt(_check_secret(values["secret"]))
        await self.audit_update(
            row, before, flags={"secret_changed": True} if "secret" in values else None
        )
        return row

    async def deliveries(self, webhook_id: uuid.UUID, *, limit: int) -> Sequence[WebhookDelivery]:
        await self.get(webhook_id)
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()
