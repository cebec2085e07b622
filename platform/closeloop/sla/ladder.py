"""Acting on a due clock: record its breach, fire the ladder levels it has reached.

`check_clock()` runs in one tenant transaction per clock: it locks the case, then the
clock (the order lifecycle actions use), and

1. marks the breach when the due time has passed (clock event `breach`, timeline
   event `sla_breach`);
2. fires, in ladder order, every level whose trigger is reached and whose key is not
   yet in the clock's `fired` list: notifications (`notify_staff`, deferred to the
   tenant's working hours unless the case is at the top severity), reassignment,
   severity raise (the due times are then recomputed), flag; then a clock event
   `escalation`, a timeline event `escalation` and an audit entry `sla.escalate`;
3. sets the clock's next check.

The key goes into `fired` in the same transaction as the level's effects, so a sweep
that runs twice, or a message delivered twice, finds it there and does nothing again.
Clock events carry the `now` the check ran with; timeline events are stamped when
they are written, so a case's timeline stays in the order things happened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import record_on_case
from closeloop.cases.models import Case
from closeloop.cases.timeline import add_event
from closeloop.config.models import Department, Severity
from closeloop.identity.models import Role, User
from closeloop.notify import events
from closeloop.notify.service import notify_staff
from closeloop.reports.hooks import refresh_later
from closeloop.sla.clocks import RUNNING, ClockService
from closeloop.sla.models import SlaClock, SlaEscalationLevel
from closeloop.sla.policies import level_key
from closeloop.sla.timing import percent_elapsed

__all__ = ["ACTOR", "CheckResult", "check_clock"]

ACTOR = "sla"
_EVENT_OF_TRIGGER = {
    "percent": events.SLA_WARNING,
    "breach": events.SLA_BREACH,
    "after_breach": events.ESCALATION,
    "age": events.ESCALATION,
}


@dataclasses.dataclass
class CheckResult:
    breached: bool = False
    fired: list[str] = dataclasses.field(default_factory=list)


def _overdue(now: dt.datetime, due_at: dt.datetime) -> str:
    minutes = max(0, int((now - due_at).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


async def check_clock(
    session: AsyncSession, clock_id: uuid.UUID, *, now: dt.datetime
) -> CheckResult:
    """Act on one clock of the session's tenant as of `now` (see the module docstring)."""
    result = CheckResult()
    case_id = await session.scalar(select(SlaClock.case_id).where(SlaClock.id == clock_id))
    if case_id is None:
        return result
    case = await session.scalar(
        select(Case)
        .where(Case.id == case_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    clock = await session.scalar(
        select(SlaClock)
        .where(SlaClock.id == clock_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if case is None or clock is None:
        return result
    clocks = ClockService(session, actor=ACTOR)
    if clock.state not in RUNNING:
        clock.next_check_at = None
        return result
    if clock.breached_at is None and clock.due_at <= now:
        await _breach(session, clocks, case, clock, now)
        result.breached = True
    for level, reached in await clocks.levels_ahead(clock, now=now):
        if reached > now:
            continue
        key = level_key(clock.policy_id, level)
        clock.fired = [*(clock.fired or []), key]
        result.fired.append(key)
        raised = await _fire(session, clocks, case, clock, level, now)
        if raised:
            # New severity, maybe a new policy: due times and ladder are recomputed, and
            # the next sweep carries on with the ladder that now applies.
            await clocks.recompute(case, now=now, reason="escalation: severity raised")
            break
    await clocks.schedule(clock, now=now)
    await clocks.refresh_due(case)
    return result


async def _breach(
    session: AsyncSession, clocks: ClockService, case: Case, clock: SlaClock, now: dt.datetime
) -> None:
    clock.breached_at, clock.state = clock.due_at, "breached"
    await clocks.event(case.id, clock, "breach", now, data={"due_at": clock.due_at})
    what: dict[str, Any] = {"target": clock.target, "cycle": clock.cycle, "due_at": clock.due_at}
    await _timeline(session, case, "sla_breach", what, now)


async def _timeline(
    session: AsyncSession, case: Case, type_: str, data: dict[str, Any], at: dt.datetime
) -> None:
    """A ladder step on the case's timeline at the sweep's time (the status does not
    change); the case's report facts follow it."""
    await add_event(
        session,
        case,
        type=type_,
        actor=ACTOR,
        from_status=case.status,
        to_status=case.status,
        data=data,
        at=at,
    )
    await refresh_later(session, tenant_id=case.tenant_id, case_id=case.id)


async def _users_with_role(session: AsyncSession, role: str) -> list[uuid.UUID]:
    query = (
        select(User.id)
        .where(User.active.is_(True), func.array_position(User.roles, role).is_not(None))
        .order_by(User.created_at, User.id)
    )
    return list((await session.scalars(query)).all())


async def _manager(session: AsyncSession, case: Case) -> uuid.UUID | None:
    if case.lead_department_id is None:
        return None
    return await session.scalar(
        select(Department.manager_id).where(Department.id == case.lead_department_id)
    )


async def _recipients(
    session: AsyncSession, case: Case, level: SlaEscalationLevel
) -> list[uuid.UUID]:
    """Who the level tells; a missing handler or manager falls back to the supervisors."""
    wanted: list[uuid.UUID] = []
    supervisors: list[uuid.UUID] | None = None

    async def fallback() -> list[uuid.UUID]:
        nonlocal supervisors
        if supervisors is None:
            supervisors = await _users_with_role(session, Role.SUPERVISOR.value)
        return supervisors

    for action in level.actions:
        if action == "notify_handler":
            wanted += [case.handler_id] if case.handler_id else await fallback()
        elif action == "notify_manager":
            manager = await _manager(session, case)
            wanted += [manager] if manager else await fallback()
        elif action == "notify_supervisors":
            wanted += await fallback()
        elif action == "notify_role" and level.role:
            wanted += await _users_with_role(session, level.role)
    return list(dict.fromkeys(wanted))


async def _raise(session: AsyncSession, case: Case, code: str | None) -> Severity | None:
    """The severity to raise to: `code` (the top one if it is gone), else one rank up;
    None when the case is there already."""
    active = select(Severity).where(Severity.active.is_(True))
    chosen = None
    if code is not None:
        chosen = await session.scalar(active.where(Severity.code == code))
        if chosen is None:
            chosen = await session.scalar(active.order_by(Severity.rank.desc()).limit(1))
    else:
        chosen = await session.scalar(
            active.where(Severity.rank > case.severity_rank).order_by(Severity.rank).limit(1)
        )
    if chosen is None or chosen.rank <= case.severity_rank:
        return None
    return chosen


async def _not_before(
    session: AsyncSession, clocks: ClockService, case: Case, now: dt.datetime
) -> dt.datetime | None:
    """Staff hear of it in working hours (the tenant's default calendar), unless the case
    is at the top severity."""
    top = await session.scalar(select(func.max(Severity.rank)).where(Severity.active.is_(True)))
    if top is not None and case.severity_rank >= top:
        return None
    calendar = await clocks.calendar(None)
    moment = calendar.next_working_moment(now)
    return None if moment <= now else moment


async def _fire(
    session: AsyncSession,
    clocks: ClockService,
    case: Case,
    clock: SlaClock,
    level: SlaEscalationLevel,
    now: dt.datetime,
) -> bool:
    """Do one level's actions; True when the severity was raised."""
    changes: dict[str, Any] = {}
    if "reassign" in level.actions:
        manager = await _manager(session, case)
        if manager is not None and manager != case.handler_id:
            changes["handler_id"] = [case.handler_id, manager]
            case.handler_id = manager
            if manager not in (case.handler_history or []):
                case.handler_history = [*(case.handler_history or []), manager]
    raised = None
    if "raise_severity" in level.actions:
        raised = await _raise(session, case, level.severity_code)
        if raised is not None:
            changes["severity"] = [case.severity_code, raised.code]
            case.severity_id, case.severity_code, case.severity_rank = (
                raised.id,
                raised.code,
                raised.rank,
            )
    if "flag" in level.actions:
        changes["escalation_level"] = [case.escalation_level, case.escalation_level + 1]
        case.escalation_level += 1
    if changes:
        case.version += 1
    recipients = await _recipients(session, case, level)
    event = _EVENT_OF_TRIGGER[level.trigger]
    calendar = await clocks.calendar(clock.calendar_id)
    context: dict[str, Any] = {"target": clock.target, "due_at": clock.due_at}
    if event == events.SLA_WARNING:
        span = dt.timedelta(seconds=clock.span_seconds)
        context["percent"] = str(
            percent_elapsed(calendar, clock.unit, due_at=clock.due_at, span=span, now=now)
        )
    elif event == events.SLA_BREACH:
        context["overdue"] = _overdue(now, clock.due_at)
    else:
        context = {"level": str(level.position + 1), "reason": _reason(clock, level)}
    if recipients:
        await notify_staff(
            session,
            user_ids=recipients,
            event=event,
            case=case,
            context=context,
            not_before=await _not_before(session, clocks, case, now),
        )
    what = {
        "level": level.position + 1,
        "target": clock.target,
        "cycle": clock.cycle,
        "trigger": level.trigger,
        "threshold": level.threshold,
        "actions": list(level.actions),
        "notified": recipients,
        "changes": changes,
    }
    await clocks.event(case.id, clock, "escalation", now, reason=_reason(clock, level), data=what)
    await _timeline(session, case, "escalation", what, now)
    await record_on_case(session, case.id, "sla.escalate", actor=ACTOR, after=what)
    return raised is not None


def _reason(clock: SlaClock, level: SlaEscalationLevel) -> str:
    if level.trigger == "percent":
        return f"{clock.target}: {level.threshold}% of the target elapsed"
    if level.trigger == "breach":
        return f"{clock.target} overdue"
    if level.trigger == "after_breach":
        return f"{clock.target} overdue by {level.threshold} h"
    return f"{clock.target} running for {level.threshold} h"
