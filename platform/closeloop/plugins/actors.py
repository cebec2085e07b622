"""Plugin jobs: `on_case_event` after a lifecycle action, and plugin e-mail to outside
addresses (see `closeloop.plugins.lifecycle`)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.timeline import add_event
from closeloop.logs import get_logger
from closeloop.mail import NOT_CONFIGURED, DeliveryFailed, Mailer
from closeloop.notify.events import locale_of
from closeloop.plugins.findings import settle
from closeloop.plugins.lifecycle import EMAIL_ACTOR, EVENT_ACTOR, event_snapshot, run_actions
from closeloop.plugins.tenant import TenantPlugins
from closeloop.queue import actor_transaction, closeloop_actor, current_message, tenant_transaction
from closeloop.tenancy.models import Tenant

__all__ = ["run_case_event_plugins", "send_plugin_email"]

log = get_logger(__name__)


@closeloop_actor(actor_name=EVENT_ACTOR, queue_name="plugins", max_retries=3, time_limit=300_000)
async def run_case_event_plugins(
    *, tenant_id: str, message_id: str, case_id: str, event_id: str
) -> None:
    """Call the tenant's enabled `on_case_event` plugins about one timeline event, store
    their findings and carry out their actions, all in one transaction with the
    message's claim (a redelivery does nothing twice)."""
    async with actor_transaction() as session:
        case = await session.scalar(select(Case).where(Case.id == uuid.UUID(case_id)))
        event = await session.scalar(select(CaseEvent).where(CaseEvent.id == uuid.UUID(event_id)))
        if case is None or event is None:
            log.info("case or event gone; nothing to do", case_id=case_id, event_id=event_id)
            return
        plugins = await TenantPlugins.load(session, current_message().settings)
        if not plugins.implementing("on_case_event"):
            return
        outcomes = await plugins.call(
            "on_case_event", event=await event_snapshot(session, case, event)
        )
        notes = {}
        for index, outcome in enumerate(outcomes):
            if outcome.ok and outcome.result:
                notes[index] = await run_actions(session, case, outcome)
        await settle(session, plugins, outcomes, case=case, actor="worker", notes=notes)


@closeloop_actor(
    actor_name=EMAIL_ACTOR,
    queue_name="plugins",
    max_retries=5,
    time_limit=90_000,
    throws=(LookupError,),
)
async def send_plugin_email(
    *,
    tenant_id: str,
    message_id: str,
    case_id: str,
    plugin: str,
    to: str,
    subject: str,
    body: str,
) -> None:
    """Send a plugin's e-mail to an address outside the tenant's staff, then note it on
    the case's timeline (`plugin_email`: sent, or skipped with the reason)."""
    mailer = Mailer(current_message().settings.smtp_url)
    async with tenant_transaction() as session:
        tenant = await session.get(Tenant, uuid.UUID(tenant_id))
        case = await session.scalar(select(Case).where(Case.id == uuid.UUID(case_id)))
        if case is None or tenant is None:
            return
        sender, locale = tenant.name, locale_of(tenant.locale)
    status, error = "sent", None
    if mailer.target is None:
        status, error = "skipped", NOT_CONFIGURED
    else:
        try:
            await mailer.send(
                key=message_id, to=to, subject=subject, body=body, locale=locale, sender_name=sender
            )
        except DeliveryFailed as exc:
            if exc.retry:
                raise  # Dramatiq retries with backoff
            status, error = "failed", str(exc)
    async with actor_transaction() as session:
        case = await session.scalar(select(Case).where(Case.id == uuid.UUID(case_id)))
        if case is None:
            return
        await add_event(
            session,
            case,
            type="plugin_email",
            actor=f"plugin:{plugin}",
            from_status=None,
            to_status=None,
            data={"plugin": plugin, "to": to, "subject": subject, "status": status, "error": error},
        )
