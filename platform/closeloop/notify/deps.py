"""How to get the notification settings services: one provider per service.

`TemplateService` and `WebhookService` take `(session, *, actor=..., settings=...)`;
the providers are Litestar dependencies (parameters `db_session`, `principal`,
`settings`) that audit changes as the caller. The delivery actors get their settings
from the worker (`current_message().settings`), never from a module global.
"""

from __future__ import annotations

from closeloop.notify.admin import TemplateService, WebhookService
from closeloop.providers import audited_as_caller

__all__ = ["provide_template_service", "provide_webhook_service"]

provide_template_service = audited_as_caller(TemplateService, "provide_template_service")
provide_webhook_service = audited_as_caller(WebhookService, "provide_webhook_service")
