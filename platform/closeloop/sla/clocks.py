"""SLA clocks on a case: start, pause, resume, restart, stop, recompute; the case's due time.

`ClockService` works in the caller's transaction, on a case the caller has locked
(`SELECT ... FOR UPDATE`: lifecycle actions, edits and the sweep all lock the case
first, so one case's clocks change one step at a time). Every step writes an
`sla_clock_events` row with the `now` it was computed with, so tests and replays
control time by passing `now`.

* Due times come from the clock's copied target (`spec`) and calendar (`timing`).
* A pause freezes the clock; the resume moves the due time by exactly the time spent
  paused, in the clock's measure (business time for business and working-day targets).
* `next_check_at` is the earliest of the due time (not yet breached) and the
  thresholds of the ladder levels not yet fired; null for a paused or stopped clock.
* `case.due_at` is the earliest due time among the case's running clocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import jsonable
from closeloop.cases.models import Case
from closeloop.crud import Service
from closeloop.db import new_id, required_tenant
from closeloop.errors import NotFound
from closeloop.settings import Settings
from closeloop.sla.calendar import BusinessCalendar
from closeloop.sla.calendar_service import load
from closeloop.sla.models import SlaClock, SlaClockEvent, SlaEscalationLevel, SlaPolicy
from closeloop.sla.policies import ladders, level_key, match_policy
from closeloop.sla.timing import advance, due_for, measured, threshold_at

__all__ = ["OPEN", "RUNNING", "ClockService"]

RUNNING = ("running", "breached")
OPEN = ("running", "breached", "paused")
_ZERO = dt.timedelta(0)


def _seconds(delta: dt.timedelta) -> int:
    return round(delta.total_seconds())


class ClockService(Service):
    def __init__(
        self, session: AsyncSession, *, actor: str, settings: Settings | None = None
    ) -> None:
        super().__init__(session, actor=actor, settings=settings)
        self.tenant_id = required_tenant(session, "ClockService")
        self._calendars: dict[uuid.UUID | None, BusinessCalendar] = {}
        # New rows go here instead of into the session while `held` is set (intake
        # computes the clocks before the case row exists).
        self._held: list[SlaClock | SlaClockEvent] | None = None
        # The promises imported files state (`record_stated`), as policies not stored.
        self._stated: dict[tuple[str, tuple[Any, ...]], SlaPolicy] = {}

    def _add(self, row: SlaClock | SlaClockEvent) -> None:
        if self._held is not None:
            self._held.append(row)
        else:
            self.session.add(row)

    # ---- reading --------------------------------------------------------------------------

    async def calendar(self, calendar_id: uuid.UUID | None) -> BusinessCalendar:
        """The calendar a clock counts with; the default when its own is gone."""
        found = self._calendars.get(calendar_id)
        if found is None:
            try:
                found = await load(self.session, calendar_id)
            except NotFound:
                found = await load(self.session, None)
            self._calendars[calendar_id] = found
        return found

    async def ladder(self, policy_id: uuid.UUID | None, target: str) -> list[SlaEscalationLevel]:
        """The levels watching `target` (the policy's ladder is cached by `ladders`)."""
        return (await ladders(self.session, policy_id)).get(target, [])

    async def clocks(self, case_id: uuid.UUID) -> list[SlaClock]:
        """Every clock of the case, by cycle and start."""
        query = (
            select(SlaClock)
            .where(SlaClock.case_id == case_id)
            .order_by(SlaClock.cycle, SlaClock.started_at, SlaClock.target)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(query)).all())

    async def current_cycle(self, case_id: uuid.UUID) -> int:
        found = await self.session.scalar(
            select(func.max(SlaClock.cycle)).where(SlaClock.case_id == case_id)
        )
        return int(found or 1)

    async def cycle_clocks(self, case_id: uuid.UUID, cycle: int) -> dict[str, SlaClock]:
        return {c.target: c for c in await self.clocks(case_id) if c.cycle == cycle}

    # ---- steps ----------------------------------------------------------------------------

    async def event(
        self,
        case_id: uuid.UUID,
        clock: SlaClock | None,
        type: str,
        at: dt.datetime,
        *,
        cycle: int | None = None,
        reason: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> SlaClockEvent:
        row = rows.new(
            SlaClockEvent,
            tenant_id=self.tenant_id,
            id=new_id(),
            case_id=case_id,
            clock_id=clock.id if clock is not None else None,
            cycle=clock.cycle if clock is not None else (cycle or 1),
            target=clock.target if clock is not None else None,
            type=type,
            at=at,
            actor=self.actor,
            reason=reason,
            data=jsonable({k: v for k, v in (data or {}).items() if v is not None}),
        )
        self._add(row)
        return row

    async def start(
        self,
        case: Case,
        policy: SlaPolicy,
        target: str,
        *,
        cycle: int,
        at: dt.datetime,
        now: dt.datetime,
        existing: SlaClock | None = None,
        reason: str | None = None,
        schedule: bool = True,
    ) -> SlaClock | None:
        """Start `target` at `at` (a clock of this cycle that ran before starts a new
        period); nothing when the policy makes no such promise."""
        spec = (policy.targets or {}).get(target)
        if not spec:
            return None
        calendar = await self.calendar(policy.calendar_id)
        due, span, opens_at = due_for(calendar, spec, at)
        running: dict[str, Any] = {
            "policy_id": policy.id,
            "calendar_id": policy.calendar_id,
            "unit": spec["unit"],
            "spec": dict(spec),
            "state": "running",
            "started_at": at,
            "opens_at": opens_at,
            "due_at": due,
            "span_seconds": _seconds(span),
            "paused_at": None,
            "paused_seconds": 0,
            "stopped_at": None,
            "breached_at": None,
            "fired": [],
        }
        clock = existing
        if clock is None:
            clock = rows.new(
                SlaClock,
                tenant_id=self.tenant_id,
                id=new_id(),
                case_id=case.id,
                cycle=cycle,
                target=target,
                period=1,
                **running,
            )
            self._add(clock)
        else:
            clock.period += 1
            for name, value in running.items():
                setattr(clock, name, value)
        await self.event(
            case.id,
            clock,
            "start" if existing is None else "restart",
            at,
            reason=reason,
            data={
                "due_at": due,
                "opens_at": opens_at,
                "policy": policy.code,
                "spec": spec,
                "period": clock.period,
            },
        )
        if schedule:
            await self.schedule(clock, now=now)
        return clock

    async def pause(self, clock: SlaClock, at: dt.datetime, *, reason: str) -> None:
        if clock.state not in RUNNING:
            return
        clock.state, clock.paused_at, clock.next_check_at = "paused", at, None
        await self.event(clock.case_id, clock, "pause", at, reason=reason)

    async def _unpause(self, clock: SlaClock, at: dt.datetime) -> dt.timedelta:
        """Move the due time of a paused clock by the time paused until `at`."""
        assert clock.paused_at is not None
        calendar = await self.calendar(clock.calendar_id)
        paused = max(measured(calendar, clock.unit, clock.paused_at, at), _ZERO)
        clock.due_at = advance(calendar, clock.unit, clock.due_at, paused)
        clock.paused_seconds += _seconds(paused)
        clock.paused_at = None
        clock.state = "breached" if clock.breached_at is not None else "running"
        return paused

    async def resume(self, clock: SlaClock, at: dt.datetime, *, now: dt.datetime) -> None:
        if clock.state != "paused":
            return
        before = clock.due_at
        paused = await self._unpause(clock, at)
        await self.event(
            clock.case_id,
            clock,
            "resume",
            at,
            data={"paused_seconds": _seconds(paused), "due_before": before, "due_at": clock.due_at},
        )
        await self.schedule(clock, now=now)

    async def stop(self, clock: SlaClock, at: dt.datetime, *, reason: str) -> None:
        if clock.state == "stopped":
            return
        if clock.state == "paused":
            await self._unpause(clock, at)
        if clock.breached_at is None and at > clock.due_at:
            clock.breached_at = clock.due_at  # missed before a sweep saw it
        clock.state, clock.stopped_at, clock.next_check_at = "stopped", at, None
        await self.event(
            clock.case_id,
            clock,
            "stop",
            at,
            reason=reason,
            data={"due_at": clock.due_at, "met": clock.breached_at is None},
        )

    async def schedule(self, clock: SlaClock, *, now: dt.datetime) -> None:
        """Set `next_check_at`: the next moment the sweep must look at this clock."""
        if clock.state not in RUNNING:
            clock.next_check_at = None
            return
        moments = [clock.due_at] if clock.breached_at is None else []
        moments += [at for _, at in await self.levels_ahead(clock, now=now)]
        clock.next_check_at = min(moments) if moments else None

    async def levels_ahead(
        self, clock: SlaClock, *, now: dt.datetime
    ) -> list[tuple[SlaEscalationLevel, dt.datetime]]:
        """The levels of the clock's escalation ladder not fired yet, each with the moment
        it is reached (maybe already past), in ladder order."""
        calendar = await self.calendar(clock.calendar_id)
        span = dt.timedelta(seconds=clock.span_seconds)
        fired = clock.fired or ()
        return [
            (
                level,
                threshold_at(
                    calendar,
                    clock.unit,
                    trigger=level.trigger,
                    threshold=level.threshold,
                    started_at=clock.started_at,
                    due_at=clock.due_at,
                    span=span,
                    now=now,
                ),
            )
            for level in await self.ladder(clock.policy_id, clock.target)
            if level_key(clock.policy_id, level) not in fired
        ]

    # ---- a case's clocks as a whole -------------------------------------------------------

    @contextlib.contextmanager
    def _holding(self) -> Iterator[list[SlaClock | SlaClockEvent]]:
        """New rows go to the list yielded instead of the session (see `_add`)."""
        held: list[SlaClock | SlaClockEvent] = []
        self._held = held
        try:
            yield held
        finally:
            self._held = None

    async def start_case(self, case: Case, *, now: dt.datetime) -> list[SlaClock | SlaClockEvent]:
        """Intake: the first cycle's first response and resolution, from the received time.

        Sets `case.due_at` and returns the new clocks and their events instead of adding
        them: intake computes them before the case row exists and adds them after."""
        policy = await match_policy(self.session, case)
        if policy is None:
            return []
        with self._holding() as held:
            started = [
                await self.start(case, policy, target, cycle=1, at=case.received_at, now=now)
                for target in ("first_response", "resolution")
            ]
        running = [c.due_at for c in started if c is not None and c.state in RUNNING]
        case.due_at = min(running, default=None)
        return held

    async def record_history(
        self, case: Case, *, ended_at: dt.datetime, now: dt.datetime
    ) -> list[SlaClock | SlaClockEvent]:
        """An imported case: its first cycle's first response and resolution as history,
        started at the received time and stopped at `ended_at` (met or breached by their
        due times). Nothing runs on afterwards, so nothing escalates or notifies. Returns
        the rows instead of adding them, as `start_case` does."""
        policy = await match_policy(self.session, case)
        if policy is None:
            return []
        with self._holding() as held:
            for target in ("first_response", "resolution"):
                clock = await self.start(
                    case, policy, target, cycle=1, at=case.received_at, now=now, schedule=False
                )
                if clock is not None:
                    await self.stop(clock, max(ended_at, case.received_at), reason="imported")
        case.due_at = None
        return held

    async def record_stated(
        self,
        case: Case,
        target: str,
        spec: dict[str, Any],
        *,
        started_at: dt.datetime,
        met: bool,
        now: dt.datetime,
    ) -> list[SlaClock | SlaClockEvent]:
        """An imported case whose file states whether `target` was met but not when (the
        CFPB's "Timely response?"): the first cycle's clock of `spec` (a target as a
        policy writes it) from `started_at`, stopped at its due time, met or breached
        (at its due time) as stated. The promise is the file's, not a policy's: the
        clock has no policy and counts with the tenant's default calendar. Returns the
        rows instead of adding them, as `start_case` does."""
        key = (target, tuple(sorted(spec.items())))
        stated = self._stated.get(key)
        if stated is None:  # one per target and spec: an ORM instance is slow to make
            stated = SlaPolicy(id=None, code="import", calendar_id=None, targets={target: spec})
            self._stated[key] = stated
        with self._holding() as held:
            clock = await self.start(
                case, stated, target, cycle=1, at=started_at, now=now, schedule=False
            )
            assert clock is not None
            if not met:
                clock.breached_at = clock.due_at
            await self.stop(clock, clock.due_at, reason="imported: stated by the file")
        return held

    async def recompute(self, case: Case, *, now: dt.datetime, reason: str) -> None:
        """The case's severity or category changed: match its policy again and recompute
        the due time of every open clock from its start (paused time kept)."""
        policy = await match_policy(self.session, case)
        if policy is None:
            return
        calendar = await self.calendar(policy.calendar_id)
        for clock in await self.clocks(case.id):
            if clock.state not in OPEN:
                continue
            spec = (policy.targets or {}).get(clock.target) or clock.spec
            base, span, opens_at = due_for(calendar, spec, clock.started_at)
            due = advance(calendar, spec["unit"], base, dt.timedelta(seconds=clock.paused_seconds))
            before = clock.due_at
            clock.policy_id, clock.calendar_id = policy.id, policy.calendar_id
            clock.unit, clock.spec, clock.span_seconds = spec["unit"], dict(spec), _seconds(span)
            clock.due_at, clock.opens_at = due, opens_at
            if clock.breached_at is not None and due > now:
                clock.breached_at = None
                if clock.state == "breached":
                    clock.state = "running"
            await self.event(
                case.id,
                clock,
                "recompute",
                now,
                reason=reason,
                data={"policy": policy.code, "due_before": before, "due_at": due, "spec": spec},
            )
            await self.schedule(clock, now=now)
        await self.refresh_due(case)

    async def stop_all(self, case: Case, *, at: dt.datetime, reason: str) -> None:
        for clock in await self.clocks(case.id):
            await self.stop(clock, at, reason=reason)

    async def new_cycle(self, case: Case, *, now: dt.datetime, reason: str) -> int:
        """Stop this cycle and start the next: second handling and resolution, from `now`."""
        await self.stop_all(case, at=now, reason=reason)
        cycle = await self.current_cycle(case.id) + 1
        policy = await match_policy(self.session, case)
        await self.event(case.id, None, "cycle", now, cycle=cycle, reason=reason)
        if policy is not None:
            for target in ("second_handling", "resolution"):
                await self.start(case, policy, target, cycle=cycle, at=now, now=now, reason=reason)
        return cycle

    async def refresh_due(self, case: Case) -> None:
        """`case.due_at`: the earliest due time of a running clock (null when none runs)."""
        await self.session.flush()
        case.due_at = await self.session.scalar(
            select(func.min(SlaClock.due_at)).where(
                SlaClock.case_id == case.id, SlaClock.state.in_(RUNNING)
            )
        )

    async def history(self, case_id: uuid.UUID) -> Sequence[SlaClockEvent]:
        query = (
            select(SlaClockEvent)
            .where(SlaClockEvent.case_id == case_id)
            .order_by(SlaClockEvent.at, SlaClockEvent.created_at, SlaClockEvent.id)
        )
        return (await self.session.scalars(query)).all()
