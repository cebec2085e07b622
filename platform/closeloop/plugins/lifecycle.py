"""Plugins after lifecycle actions: `on_case_event`, handed to a worker.

`on_case_change(session, change, settings)` (a subscriber of `CaseChange`, see
`closeloop.cases.subscribers`) and `after_case_event(session, case, event)` (intake)
run in the action's transaction; when any plugin enabled for the tenant implements
`on_case_event` it enqueues `run_case_event_plugins` through the outbox, so the job
exists exactly when the action committed and plugins never run inside the request.

The worker (`closeloop.plugins.actors`) calls the plugins, stores their findings and
runs the actions they return:

* `flag`: a `plugin_flag` event on the case's timeline;
* `notify_email`: to a staff member of the tenant with that address, an in-app and
  e-mail notification (`plugin_notice`) through the notifications service; to any
  other address, an e-mail sent by the `send_plugin_email` job through the same
  mail server (`SMTP_URL`), its outcome a `plugin_email` event on the timeline.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import CaseChange
from closeloop.cases.models import Case, CaseEvent, Customer
from closeloop.cases.snapshot import PLUGIN_CASE, snapshot
from closeloop.cases.timeline import add_event
from closeloop.identity.models import User
from closeloop.notify import events as notify_events
from closeloop.notify.service import notify_staff
from closeloop.plugins.tenant import Outcome, enabled_plugin_names
from closeloop.plugins.types import CaseEventSnapshot, CaseSnapshot, PluginAction
from closeloop.queue.outbox import enqueue
from closeloop.settings import Settings

__all__ = [
    "EMAIL_ACTOR",
    "EVENT_ACTOR",
    "after_case_event",
    "case_snapshot",
    "event_snapshot",
    "on_case_change",
    "run_actions",
]

EVENT_ACTOR = "run_case_event_plugins"
EMAIL_ACTOR = "send_plugin_email"


async def after_case_event(session: AsyncSession, case: Case, event: CaseEvent) -> None:
    """Hand `event` to the plugins (through a worker) when any enabled one listens."""
    await _hand_over(session, case, event.id)


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    """Hand a lifecycle action's event to the plugins, as `after_case_event` does."""
    await _hand_over(session, change.case, change.event_id)


async def _hand_over(session: AsyncSession, case: Case, event_id: uuid.UUID) -> None:
    if await enabled_plugin_names(session, hook="on_case_event"):
        await enqueue(
            session,
            EVENT_ACTOR,
            tenant_id=case.tenant_id,
            case_id=str(case.id),
            event_id=str(event_id),
        )


async def case_snapshot(session: AsyncSession, case: Case) -> CaseSnapshot:
    customer_ref = None
    if case.customer_id is not None:
        customer_ref = await session.scalar(
            select(Customer.external_ref).where(Customer.id == case.customer_id)
        )
    return CaseSnapshot(**snapshot(case, PLUGIN_CASE), customer_ref=customer_ref)


async def event_snapshot(session: AsyncSession, case: Case, event: CaseEvent) -> CaseEventSnapshot:
    return CaseEventSnapshot(
        case=await case_snapshot(session, case),
        type=event.type,
        from_status=event.from_status,
        to_status=event.to_status,
        data=dict(event.data or {}),
        at=event.created_at,
    )


async def run_actions(session: AsyncSession, case: Case, outcome: Outcome) -> dict[str, Any]:
    """Carry out the actions of one ok `on_case_event` outcome; what was done, as notes."""
    done: list[dict[str, Any]] = []
    actions: list[PluginAction] = outcome.result or []
    for action in actions:
        if action.type == "flag":
            event = await add_event(
                session,
                case,
                type="plugin_flag",
                actor=f"plugin:{outcome.plugin}",
                from_status=None,
                to_status=None,
                data={"plugin": outcome.plugin, "label": action.label},
            )
            done.append({"type": "flag", "label": action.label, "event_id": str(event.id)})
            continue
        assert action.to is not None
        assert action.subject is not None
        users = (
            await session.scalars(
                select(User.id).where(
                    func.lower(User.email) == action.to.strip().lower(), User.active.is_(True)
                )
            )
        ).all()
        if users:
            await notify_staff(
                session,
                user_ids=list(users),
                event=notify_events.PLUGIN_NOTICE,
                case=case,
                context={
                    "plugin": outcome.plugin,
                    "subject": action.subject,
                    "message": action.body or "",
                },
            )
            done.append({"type": "notify_email", "to": action.to, "via": "staff notification"})
            continue
        await enqueue(
            session,
            EMAIL_ACTOR,
            tenant_id=case.tenant_id,
            case_id=str(case.id),
            plugin=outcome.plugin,
            to=action.to,
            subject=action.subject,
            body=action.body or "",
        )
        done.append({"type": "notify_email", "to": action.to, "via": "e-mail job"})
    return {"actions": done}
