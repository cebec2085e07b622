"""How to get the notification settings services: one provider per service.

`TemplateService` and `WebhookService` take `(session, *, actor=..., settings=...)`;
the providers are Litestar dependencies (parameters `db_session`, `principal`,
`settings`) that audit changes as the caller. The delivery actors get their settings
from the worker (`current_message().settings`), never from a module global.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.identity.principal import Principal
from closeloop.notify.admin import TemplateService, WebhookService
from closeloop.settings import Settings

__all__ = ["provide_template_service", "provide_webhook_service"]

Session = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
AppSettings = NamedDependency[Settings]


def provide_template_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> TemplateService:
    """The bound tenant's notification templates, changes audited as the caller."""
    return TemplateService(db_session, actor=principal.actor, settings=settings)


def provide_webhook_service(
    db_session: Session, principal: Caller, settings: AppSettings
) -> WebhookService:
    """The bound tenant's webhook endpoints, changes audited as the caller."""
    return WebhookService(db_session, actor=principal.actor, settings=settings)
