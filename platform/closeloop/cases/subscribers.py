"""Who hears of a lifecycle action, in which order.

`CaseActionService.apply()` turns an action into one `CaseChange` (the case, the action,
its lifecycle fields before and after, the actor, the details) and hands it to every
subscriber below, in order, in the action's transaction; a subscriber that raises rolls
the whole action back. Each subscriber lives in its own domain and knows what the
action means there; this table only declares the order, and why:

1. `sla`: the clocks move first (stop, pause, start), and set the case's due time that
   the notifications below name;
2. `timeline`: the action's event (under `CaseChange.event_id`), which the plugins'
   worker reads back and the audit entry names;
3. `notify`: the customer's and the staff's notifications, with their outbox messages;
4. `plugins`: the tenant's plugins hear of the event (a job through the outbox);
5. `surveys`: a resolution sends the satisfaction survey;
6. `followups`: the follow-up is scheduled, done or cancelled;
7. `reports`: the case's report facts are recomputed (a job through the outbox);
8. `audit`: last, the entry `case.<action>` with the diff, once everything else is done.

A new subscriber is one line here and a function `on_case_change(session, change,
settings)` in
its domain. The table is explicit rather than filled by registration on import: the
order is read in one place, and a subscriber cannot go missing because its module was
not imported.

Intake (`closeloop.cases.intake`) does not go through this table: its steps are the
same modules but in an order set by its hot path (the clocks are computed before the
case row exists, the case, its clocks, its event and its acknowledgement go in as one
statement, the audit entry is written with the commit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit import case_hooks as audit
from closeloop.cases import timeline
from closeloop.cases.lifecycle import CaseChange
from closeloop.followups import hooks as followups
from closeloop.notify import case_hooks as notify
from closeloop.plugins import lifecycle as plugins
from closeloop.reports import hooks as reports
from closeloop.settings import Settings
from closeloop.sla import hooks as sla
from closeloop.surveys import hooks as surveys

__all__ = ["SUBSCRIBERS", "Subscriber", "publish"]

# `settings`: the app's in a request, the worker's in an actor (`CaseActionService.settings`).
Subscriber = Callable[[AsyncSession, CaseChange, Settings], Awaitable[None]]

SUBSCRIBERS: tuple[tuple[str, Subscriber], ...] = (
    ("sla", sla.on_case_change),
    ("timeline", timeline.on_case_change),
    ("notify", notify.on_case_change),
    ("plugins", plugins.on_case_change),
    ("surveys", surveys.on_case_change),
    ("followups", followups.on_case_change),
    ("reports", reports.on_case_change),
    ("audit", audit.on_case_change),
)


async def publish(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    """Hand `change` (and the settings the action runs with) to every subscriber, in
    the declared order."""
    for _, subscriber in SUBSCRIBERS:
        await subscriber(session, change, settings)
