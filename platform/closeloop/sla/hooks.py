"""Which clocks a case's lifecycle starts, pauses, resumes, restarts and stops.

Called by intake (`on_intake`), after a lifecycle action changed the case
(`on_case_change`, first of the subscribers in `closeloop.cases.subscribers`), and by
the case edit (`on_edit`), in their transaction, on the locked case. The mapping
(docs/sla.md, "Clocks"):

* intake: start first_response and resolution at the received time;
* verify, invalidate, request_info, assign, start, resolve, and progress shown to the
  customer: stop first_response and second_handling (the customer got an answer, the
  second handling began);
* verify or edit changing severity or category: recompute every open clock with the
  policy that now matches;
* request_info: pause resolution and customer_update (the reason is kept); start
  customer_contact (1 working day);
* resume: stop customer_contact; resume the paused clocks (their due times move by
  exactly the time paused);
* start: start customer_update (every 6 h while work goes on); progress shown to the
  customer restarts it;
* resolve: stop resolution and customer_update; start first_feedback and the
  follow-up window; satisfied feedback stops first_feedback;
* unsatisfied feedback, unresolved follow-up, reopen: stop the cycle; the next cycle
  starts second_handling (24 h) and resolution, the old cycle's clocks stay as they
  ended;
* a case that ends (closed after the follow-up, invalid, merged into another case,
  archived; `lifecycle.ENDED`): stop every clock.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import ENDED, Action, CaseChange, Status
from closeloop.cases.models import Case
from closeloop.db import utcnow
from closeloop.settings import Settings
from closeloop.sla.clocks import OPEN, ClockService
from closeloop.sla.models import SlaClock, SlaClockEvent
from closeloop.sla.policies import match_policy

__all__ = ["on_case_change", "on_edit", "on_intake"]

# Actions that answer the customer or take the case up: the first response is given.
_ANSWERS = frozenset(
    {
        Action.VERIFY,
        Action.INVALIDATE,
        Action.REQUEST_INFO,
        Action.ASSIGN,
        Action.START,
        Action.RESOLVE,
    }
)
_RECOMPUTE_ON = ("severity_id", "category_id")


async def on_intake(
    session: AsyncSession, case: Case, *, actor: str, now: dt.datetime | None = None
) -> list[SlaClock | SlaClockEvent]:
    """The new case's clocks: sets `case.due_at` and returns the clock rows and their
    events, which the caller adds once the case row exists."""
    return await ClockService(session, actor=actor).start_case(case, now=now or utcnow())


async def on_edit(
    session: AsyncSession,
    case: Case,
    *,
    changed: set[str],
    actor: str,
    now: dt.datetime | None = None,
) -> None:
    """A case edit: a new severity or category recomputes the due times."""
    if changed & set(_RECOMPUTE_ON):
        reason = "edited: " + ", ".join(sorted(changed & set(_RECOMPUTE_ON)))
        await ClockService(session, actor=actor).recompute(case, now=now or utcnow(), reason=reason)


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    """Move the case's clocks for the action that has just changed it."""
    case, action, before, now = change.case, change.action, change.before, change.at
    clocks = ClockService(session, actor=change.actor)
    reason = action.value
    if case.status in ENDED:
        await clocks.stop_all(case, at=now, reason=reason)
        await clocks.refresh_due(case)
        return
    if case.status == Status.REOPENED and before.get("status") != Status.REOPENED:
        await clocks.new_cycle(case, now=now, reason=reason)
        await clocks.refresh_due(case)
        return

    cycle = await clocks.current_cycle(case.id)
    current = await clocks.cycle_clocks(case.id, cycle)

    async def stop(*targets: str) -> None:
        for target in targets:
            if target in current:
                await clocks.stop(current[target], now, reason=reason)

    async def start(target: str, *, restart: bool = True) -> None:
        existing = current.get(target)
        if existing is not None and (existing.state in OPEN and not restart):
            return
        if existing is not None and existing.state == "paused":
            return
        policy = await match_policy(session, case)
        if policy is None:
            return
        started = await clocks.start(
            case, policy, target, cycle=cycle, at=now, now=now, existing=existing, reason=reason
        )
        if started is not None:
            current[target] = started

    shown = change.visibility == "customer"
    if action in _ANSWERS or (action == Action.PROGRESS and shown):
        await stop("first_response", "second_handling")
    if any(before.get(name) != getattr(case, name) for name in _RECOMPUTE_ON):
        await clocks.recompute(case, now=now, reason=f"{reason}: severity or category")
        current = await clocks.cycle_clocks(case.id, cycle)

    if action == Action.REQUEST_INFO:
        why = change.data.get("reason") or "waiting on the customer"
        for target in ("resolution", "customer_update"):
            if target in current:
                await clocks.pause(current[target], now, reason=str(why))
        await start("customer_contact")
    elif action == Action.RESUME:
        await stop("customer_contact")
        for clock in current.values():
            await clocks.resume(clock, now, now=now)
    elif action == Action.START:
        await start("customer_update", restart=False)
    elif action == Action.PROGRESS and shown:
        await start("customer_update")
    elif action == Action.RESOLVE:
        await stop("resolution", "customer_update", "customer_contact")
        await start("first_feedback")
        await start("followup")
    elif action == Action.FEEDBACK:
        await stop("first_feedback")
    await clocks.refresh_due(case)
