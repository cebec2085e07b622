"""Scheduling, assigning and closing follow-ups (回访).

* `schedule()` gives a resolved case its open follow-up, due `followup_window_days`
  working days after the resolution (`[earliest, latest]`, default 3–5) by the
  tenant's default calendar (holidays and substituted working days included), and
  assigns it. Called when a satisfied first answer arrives, when the first-feedback
  window passed without one (`closeloop.followups.actors`), and by the
  `schedule_followup` action (its `after` moves the start of the window).
* Assignment: among the tenant's active users with the follow-up role who never
  handled the case (`handler_history`), the one with the fewest open follow-ups; on
  a tie, the one whose last follow-up was given longest ago (round robin). None fits:
  unassigned, and supervisors see it in their queue.
* `complete()` closes it when the `followup` action is taken; `cancel_open()` when the
  case is reopened or ends otherwise.

Everything runs in the caller's transaction, on the case the caller holds locked.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import any_, func, literal, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import Status
from closeloop.cases.models import Case
from closeloop.config.defaults import DEFAULT_PROFILE
from closeloop.config.models import TenantProfile
from closeloop.crud import Service
from closeloop.db import new_id, required_tenant, utcnow
from closeloop.errors import UnprocessableEntity
from closeloop.followups.models import FollowupStatus, FollowupTask
from closeloop.identity.models import Role, User
from closeloop.reports.hooks import refresh_later
from closeloop.settings import Settings
from closeloop.sla import calendar_service

__all__ = [
    "FIRST_FEEDBACK_WORKING_DAYS",
    "SYSTEM_ACTOR",
    "FollowupService",
    "due_window",
    "schedule_unanswered",
]

SYSTEM_ACTOR = "system:followups"
# A resolved case with no first answer after this many working days is followed up
# anyway (the SLA default's first-feedback target).
FIRST_FEEDBACK_WORKING_DAYS = 2
SWEEP_BATCH = 200


async def _window(session: AsyncSession) -> tuple[int, int]:
    profile = await session.scalar(select(TenantProfile).limit(1))
    window = (profile.followup_window_days if profile else None) or DEFAULT_PROFILE[
        "followup_window_days"
    ]
    earliest, latest = int(window[0]), int(window[-1])
    return earliest, max(earliest, latest)


async def due_window(
    session: AsyncSession, resolved_at: dt.datetime, *, not_before: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """`(due_from, due_by)` of a follow-up of a case resolved at `resolved_at`: the
    tenant's window in working days of its default calendar. `not_before` (a date
    chosen with `schedule_followup`) moves the start later, never earlier; the end is
    never before the start."""
    earliest, latest = await _window(session)
    calendar = await calendar_service.load(session)
    due_from = calendar.add_working_days(resolved_at, earliest)
    due_by = calendar.add_working_days(resolved_at, latest)
    if not_before is not None and not_before > due_from:
        due_from = not_before
    return due_from, max(due_by, due_from)


class FollowupService(Service):
    def __init__(
        self,
        session: AsyncSession,
        *,
        actor: str = SYSTEM_ACTOR,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(session, actor=actor, settings=settings)
        self.tenant_id = required_tenant(session, "FollowupService")

    async def open_task(self, case_id: uuid.UUID) -> FollowupTask | None:
        return await self.session.scalar(
            select(FollowupTask).where(
                FollowupTask.case_id == case_id, FollowupTask.status == FollowupStatus.OPEN
            )
        )

    async def schedule(
        self,
        case: Case,
        *,
        not_before: dt.datetime | None = None,
        now: dt.datetime | None = None,
    ) -> FollowupTask | None:
        """The case's open follow-up for its current resolution, made and assigned if it
        has none; None when this resolution was already followed up. `not_before` may
        move an open one's window later."""
        now = now or utcnow()
        resolved_at = case.resolved_at or now
        task = await self.open_task(case.id)
        if task is not None:
            window = await due_window(self.session, task.resolved_at, not_before=not_before)
            if not_before is not None and window[0] > task.due_from:
                task.due_from, task.due_by = window
                await self._audit("followup.reschedule", task)
                await refresh_later(self.session, tenant_id=self.tenant_id, case_id=case.id)
            return task
        done = await self.session.scalar(
            select(FollowupTask.id).where(
                FollowupTask.case_id == case.id,
                FollowupTask.resolved_at == resolved_at,
                FollowupTask.status == FollowupStatus.DONE,
            )
        )
        if done is not None:
            return None
        due_from, due_by = await due_window(self.session, resolved_at, not_before=not_before)
        assignee = await self.choose_assignee(case.handler_history)
        task = FollowupTask(
            tenant_id=self.tenant_id,
            id=new_id(),
            case_id=case.id,
            assignee_id=assignee,
            resolved_at=resolved_at,
            due_from=due_from,
            due_by=due_by,
            status=FollowupStatus.OPEN.value,
            created_at=now,
        )
        self.session.add(task)
        await self.session.flush()
        await self._audit("followup.schedule", task)
        await refresh_later(self.session, tenant_id=self.tenant_id, case_id=case.id)
        return task

    async def choose_assignee(self, handlers: Sequence[uuid.UUID]) -> uuid.UUID | None:
        """The least-loaded active follow-up user who never handled the case (see above)."""
        open_load = (
            select(func.count())
            .where(FollowupTask.assignee_id == User.id, FollowupTask.status == FollowupStatus.OPEN)
            .correlate(User)
            .scalar_subquery()
        )
        last_given = (
            select(func.max(FollowupTask.created_at))
            .where(FollowupTask.assignee_id == User.id)
            .correlate(User)
            .scalar_subquery()
        )
        query = select(User.id).where(
            User.active.is_(True), literal(Role.FOLLOWUP.value) == any_(User.roles)
        )
        if handlers:
            query = query.where(not_(User.id.in_(list(handlers))))
        query = query.order_by(
            open_load, last_given.asc().nulls_first(), User.created_at, User.id
        ).limit(1)
        return await self.session.scalar(query)

    async def assign(self, task: FollowupTask, assignee_id: uuid.UUID) -> FollowupTask:
        """Give an open follow-up to `assignee_id` (a supervisor's choice); 422 naming
        `assignee_id` for a user who may not take it."""
        case = await self.session.get(Case, (self.tenant_id, task.case_id))
        assert case is not None
        user = await self.session.get(User, (self.tenant_id, assignee_id))
        if user is None or not user.active or Role.FOLLOWUP.value not in user.roles:
            raise UnprocessableEntity(
                "the assignee must be an active user with the followup role",
                field="assignee_id",
            )
        if user.id in (case.handler_history or ()):
            raise UnprocessableEntity(
                "a follow-up must be done by someone who never handled the case",
                code="followup_by_handler",
                field="assignee_id",
            )
        if task.status != FollowupStatus.OPEN:
            raise UnprocessableEntity(
                f"the follow-up is {task.status}; only an open one can be assigned",
                field="status",
            )
        before = task.assignee_id
        task.assignee_id = user.id
        await self._audit("followup.assign", task, before={"assignee_id": before})
        return task

    async def complete(self, case: Case, *, outcome: str | None, at: dt.datetime) -> None:
        """The `followup` action was taken: the open follow-up is done, with its outcome."""
        task = await self.open_task(case.id)
        if task is None:
            return
        task.status = FollowupStatus.DONE.value
        task.outcome = outcome
        task.done_at = at
        task.done_by = self.actor
        await self._audit("followup.done", task)

    async def cancel_open(self, case_id: uuid.UUID, *, at: dt.datetime) -> None:
        """The case was reopened or ended without a follow-up: its open one is cancelled."""
        task = await self.open_task(case_id)
        if task is None:
            return
        task.status = FollowupStatus.CANCELLED.value
        task.done_at = at
        task.done_by = self.actor
        await self._audit("followup.cancel", task)

    async def _audit(
        self, action: str, task: FollowupTask, *, before: dict[str, object] | None = None
    ) -> None:
        await self.record(
            action,
            "followup_task",
            task.id,
            before=before,
            after={
                "case_id": task.case_id,
                "assignee_id": task.assignee_id,
                "status": task.status,
                "due_from": task.due_from,
                "due_by": task.due_by,
                "outcome": task.outcome,
            },
        )


async def schedule_unanswered(
    session: AsyncSession, *, now: dt.datetime | None = None, batch: int = SWEEP_BATCH
) -> int:
    """Schedule the follow-ups of the bound tenant's cases resolved at least
    `FIRST_FEEDBACK_WORKING_DAYS` working days ago that got no first answer; how many.

    Cases another transaction holds are skipped (the next sweep takes them)."""
    now = now or utcnow()
    followed = select(FollowupTask.id).where(
        FollowupTask.case_id == Case.id, FollowupTask.resolved_at == Case.resolved_at
    )
    # N working days are at least N calendar days: older cases are the only candidates.
    cases = (
        await session.scalars(
            select(Case)
            .where(
                Case.status == Status.RESOLVED,
                Case.resolved_at <= now - dt.timedelta(days=FIRST_FEEDBACK_WORKING_DAYS),
                ~followed.exists(),
            )
            .order_by(Case.resolved_at)
            .limit(batch)
            .with_for_update(skip_locked=True, of=Case)
        )
    ).all()
    if not cases:
        return 0
    calendar = await calendar_service.load(session)
    service = FollowupService(session)
    scheduled = 0
    for case in cases:
        assert case.resolved_at is not None
        if calendar.add_working_days(case.resolved_at, FIRST_FEEDBACK_WORKING_DAYS) > now:
            continue
        if await service.schedule(case, now=now) is not None:
            scheduled += 1
    return scheduled
