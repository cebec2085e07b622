"""Applying a lifecycle action to a case: lock, check, change, publish.

`CaseActionService.apply()` does, in the caller's transaction:

1. `SELECT ... FOR UPDATE` of the case (404 when it is not the tenant's), so concurrent
   actions on one case run one after the other and none is lost;
2. `lifecycle.check()`: the caller's role (403), then the status (409);
3. the action's own change (below), checked against the declared targets, and
   `version + 1`;
4. one `CaseChange` describing it, handed to the subscribers declared in
   `closeloop.cases.subscribers` (SLA clocks, timeline, notifications, plugins,
   surveys, follow-ups, audit), in their order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases import action_schemas as body
from closeloop.cases.lifecycle import (
    ENDED,
    RESUME,
    RULES,
    STAY,
    Action,
    CaseChange,
    Status,
    check,
)
from closeloop.cases.models import Case
from closeloop.cases.snapshot import snapshot
from closeloop.cases.subscribers import publish
from closeloop.cases.timeline import Visibility
from closeloop.config import current
from closeloop.config.defaults import DEFAULT_PROFILE
from closeloop.config.models import Category, Department, Severity
from closeloop.db import new_id, required_tenant, utcnow
from closeloop.errors import Conflict, NotFound, UnprocessableEntity
from closeloop.followups.service import due_window
from closeloop.identity.models import Role, User
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["DEFAULT_SATISFACTION_SCALE", "CaseActionService"]

DEFAULT_SATISFACTION_SCALE: list[dict[str, Any]] = DEFAULT_PROFILE["satisfaction_scale"]
HANDLER_ROLES = (Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)


class _Change:
    """What an action tells the timeline: its data and who may see it."""

    def __init__(
        self, data: dict[str, Any] | None = None, visibility: Visibility = "internal"
    ) -> None:
        self.data = data or {}
        self.visibility: Visibility = visibility


Applier = Callable[["CaseActionService", Case, Any], Awaitable[_Change]]


class CaseActionService:
    def __init__(self, session: AsyncSession, *, principal: Principal, settings: Settings) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings
        self.tenant_id = required_tenant(session, "CaseActionService")

    async def lock(self, case_id: uuid.UUID) -> Case:
        """The case, row-locked until the transaction ends; 404 when it is not the tenant's."""
        case = await self.session.scalar(
            select(Case)
            .where(Case.id == case_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if case is None:
            raise NotFound("no such case")
        return case

    async def apply(
        self,
        case_id: uuid.UUID,
        action: Action,
        data: body.ActionBody,
        *,
        now: dt.datetime | None = None,
    ) -> tuple[Case, CaseChange]:
        """`now` (default: the current time) dates the timeline event and the SLA clocks.
        Answers the case and the change (`change.event_id` is its timeline event)."""
        case = await self.lock(case_id)
        check(case, self.principal, action)
        before = snapshot(case)
        done = await _APPLIERS[action](self, case, data)
        _check_target(action, before["status"], case.status)
        case.version += 1
        change = CaseChange(
            case=case,
            action=action,
            actor=self.principal.actor,
            before=before,
            after=snapshot(case),
            data=done.data,
            visibility=done.visibility,
            at=now or utcnow(),
            event_id=new_id(),
        )
        await publish(self.session, change, self.settings)
        return case, change

    # -- the actions -------------------------------------------------------------------

    async def _verify(self, case: Case, data: body.Verify) -> _Change:
        if not data.valid:
            if data.explanation is None:
                raise UnprocessableEntity(
                    "an invalid case needs an explanation for the customer",
                    field="explanation",
                )
            return self._close_invalid(case, data.explanation)
        if data.category_id is not None:
            category = await self.session.get(Category, (self.tenant_id, data.category_id))
            if category is None or not category.active:
                raise UnprocessableEntity("no such active category", field="category_id")
            case.category_id, case.category_code = category.id, category.code
        if data.severity_id is not None:
            severity = await self.session.get(Severity, (self.tenant_id, data.severity_id))
            if severity is None or not severity.active:
                raise UnprocessableEntity("no such active severity", field="severity_id")
            _set_severity(case, severity)
        case.status = Status.VERIFIED
        return _Change(
            {
                "valid": True,
                "category": case.category_code,
                "severity": case.severity_code,
                "note": data.note,
            }
        )

    async def _invalidate(self, case: Case, data: body.Invalidate) -> _Change:
        return self._close_invalid(case, data.explanation)

    def _close_invalid(self, case: Case, explanation: str) -> _Change:
        case.status = Status.CLOSED_INVALID
        case.closed_at = utcnow()
        return _Change({"valid": False, "explanation": explanation}, "customer")

    async def _request_info(self, case: Case, data: body.RequestInfo) -> _Change:
        case.resume_status = case.status
        case.status = Status.WAITING_CUSTOMER
        return _Change({"question": data.question, "reason": data.reason}, "customer")

    async def _resume(self, case: Case, data: body.Resume) -> _Change:
        case.status = case.resume_status or Status.REGISTERED
        case.resume_status = None
        return _Change({"note": data.note})

    async def _assign(self, case: Case, data: body.Assign) -> _Change:
        await self._department(data.lead_department_id, "lead_department_id")
        collaborating: list[uuid.UUID] = []
        for department_id in data.collaborating_department_ids:
            if department_id != data.lead_department_id and department_id not in collaborating:
                await self._department(department_id, "collaborating_department_ids")
                collaborating.append(department_id)
        handler = await self.session.get(User, (self.tenant_id, data.handler_id))
        if handler is None or not handler.active:
            raise UnprocessableEntity("no such active user", field="handler_id")
        if not set(handler.roles) & {r.value for r in HANDLER_ROLES}:
            raise UnprocessableEntity(
                "the handler needs the handler, supervisor or admin role",
                field="handler_id",
            )
        previous = case.handler_id
        case.lead_department_id = data.lead_department_id
        case.collaborating_department_ids = collaborating
        case.handler_id = handler.id
        if handler.id not in case.handler_history:
            case.handler_history = [*case.handler_history, handler.id]
        case.deadline = data.deadline
        if case.status in (Status.VERIFIED, Status.REOPENED):
            case.status = Status.ASSIGNED
        return _Change(
            {
                "lead_department_id": data.lead_department_id,
                "collaborating_department_ids": collaborating,
                "handler_id": handler.id,
                "previous_handler_id": previous if previous != handler.id else None,
                "deadline": data.deadline,
                "note": data.note,
            }
        )

    async def _department(self, department_id: uuid.UUID, field: str) -> Department:
        department = await self.session.get(Department, (self.tenant_id, department_id))
        if department is None or not department.active:
            raise UnprocessableEntity("no such active department", field=field)
        return department

    async def _start(self, case: Case, data: body.Start) -> _Change:
        case.status = Status.IN_PROGRESS
        return _Change({"note": data.note})

    async def _progress(self, case: Case, data: body.Progress) -> _Change:
        return _Change({"note": data.note}, data.visibility)

    async def _resolve(self, case: Case, data: body.Resolve) -> _Change:
        if data.responsible_party == "third_party" and not data.third_party:
            raise UnprocessableEntity("name the third party responsible", field="third_party")
        case.resolution = {
            "root_cause": data.root_cause,
            "responsible_party": data.responsible_party,
            "third_party": data.third_party if data.responsible_party == "third_party" else None,
            "solution_type": data.solution_type,
            "result": data.result,
        }
        case.resolved_at = utcnow()
        case.status = Status.RESOLVED
        return _Change(dict(case.resolution), "customer")

    async def _feedback(self, case: Case, data: body.Feedback) -> _Change:
        level, codes = await current.satisfaction_level(self.session, data.satisfaction)
        if level is None:
            raise UnprocessableEntity(
                f"unknown satisfaction {data.satisfaction!r}; the scale is {', '.join(codes)}",
                field="satisfaction",
            )
        satisfied = bool(level.get("satisfied"))
        if not satisfied and data.reason is None:
            raise UnprocessableEntity("an unsatisfied answer needs a reason", field="reason")
        case.first_satisfaction = data.satisfaction
        change = {"satisfaction": data.satisfaction, "satisfied": satisfied, "reason": data.reason}
        if satisfied:
            case.status = Status.FEEDBACK_RECEIVED
        else:
            change |= await self._escalate(case)
        return _Change(change)

    async def _schedule_followup(self, case: Case, data: body.ScheduleFollowup) -> _Change:
        after = data.after
        if after is None:  # the start of the follow-up window, on the tenant's calendar
            after, _ = await due_window(self.session, case.resolved_at or utcnow())
        case.followup_after = after
        case.status = Status.FOLLOWUP_SCHEDULED
        return _Change({"after": after})

    async def _followup(self, case: Case, data: body.Followup) -> _Change:
        case.followup_outcome = data.outcome
        change = {"outcome": data.outcome, "note": data.note, "script_answers": data.script_answers}
        if data.outcome == "unresolved":
            change |= await self._escalate(case)
        else:
            case.status = Status.CLOSED
            case.closed_at = utcnow()
        return _Change(change)

    async def _reopen(self, case: Case, data: body.Reopen) -> _Change:
        return _Change({"reason": data.reason, **await self._escalate(case)})

    async def _archive(self, case: Case, data: body.Archive) -> _Change:
        case.status = Status.ARCHIVED
        case.archived_at = utcnow()
        return _Change({"note": data.note})

    async def _annotate(self, case: Case, data: body.Annotate) -> _Change:
        return _Change({"note": data.note})

    async def _merge(self, case: Case, data: body.Merge) -> _Change:
        target = await self._merge_target(data.into)
        if target.id == case.id:
            raise UnprocessableEntity(
                "a case cannot be merged into itself", code="merge_into_self", field="into"
            )
        if target.status in ENDED:
            raise Conflict(
                f"case {target.number} is {target.status}: merge into a case still handled"
                + (" (the one it was merged into)" if target.merged_into_id else ""),
                code="merge_target_ended",
                details={
                    "into_id": str(target.id),
                    "status": target.status,
                    "merged_into_id": str(target.merged_into_id) if target.merged_into_id else None,
                },
            )
        case.merged_into_id = target.id
        case.status = Status.MERGED
        case.resume_status = None
        case.closed_at = utcnow()
        return _Change(
            {"into_id": target.id, "into_number": target.number, "note": data.note}, "customer"
        )

    async def _merge_target(self, into: str) -> Case:
        """The case `into` names (its id or its number), row-locked; 404 when it is not
        one of the tenant's cases."""
        try:
            where = Case.id == uuid.UUID(into)
        except ValueError:
            where = Case.number == into
        target = await self.session.scalar(
            select(Case).where(where).with_for_update().execution_options(populate_existing=True)
        )
        if target is None:
            raise NotFound(f"no case {into!r} to merge into", code="merge_target_not_found")
        return target

    async def _escalate(self, case: Case) -> dict[str, Any]:
        """Reopen one escalation level up, with the next severity when there is one."""
        case.escalation_level += 1
        higher = await self.session.scalar(
            select(Severity)
            .where(Severity.rank > case.severity_rank, Severity.active.is_(True))
            .order_by(Severity.rank)
            .limit(1)
        )
        if higher is not None:
            _set_severity(case, higher)
        case.status = Status.REOPENED
        case.closed_at = None
        return {"escalation_level": case.escalation_level, "severity": case.severity_code}


def _set_severity(case: Case, severity: Severity) -> None:
    case.severity_id, case.severity_code, case.severity_rank = (
        severity.id,
        severity.code,
        severity.rank,
    )


def _check_target(action: Action, from_status: str, to_status: str) -> None:
    """The change landed where the rules say this action may lead (a bug otherwise)."""
    targets = RULES[action].targets
    fits = (
        to_status in targets or (STAY in targets and to_status == from_status) or RESUME in targets
    )
    assert fits, f"{action} moved a case from {from_status} to {to_status}"


_APPLIERS: dict[Action, Applier] = {
    Action.VERIFY: CaseActionService._verify,
    Action.INVALIDATE: CaseActionService._invalidate,
    Action.REQUEST_INFO: CaseActionService._request_info,
    Action.RESUME: CaseActionService._resume,
    Action.ASSIGN: CaseActionService._assign,
    Action.START: CaseActionService._start,
    Action.PROGRESS: CaseActionService._progress,
    Action.RESOLVE: CaseActionService._resolve,
    Action.FEEDBACK: CaseActionService._feedback,
    Action.SCHEDULE_FOLLOWUP: CaseActionService._schedule_followup,
    Action.FOLLOWUP: CaseActionService._followup,
    Action.REOPEN: CaseActionService._reopen,
    Action.ARCHIVE: CaseActionService._archive,
    Action.ANNOTATE: CaseActionService._annotate,
    Action.MERGE: CaseActionService._merge,
}
