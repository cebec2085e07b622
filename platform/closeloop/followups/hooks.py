"""What the lifecycle means for follow-ups: called once by `CaseActionService.apply()`
after the action's timeline event is written, in its transaction, on the locked case.

* feedback, satisfied (the case is `feedback_received`) → the follow-up is scheduled
  and assigned (`FollowupService.schedule`);
* schedule_followup → the same, its `after` moving the window later when it is later;
* followup → the open follow-up is done, with the outcome, by whoever took the action;
* the case is reopened (unsatisfied answer, unresolved follow-up, reopen) or ends
  otherwise → its open follow-up is cancelled.

A case resolved and never answered gets its follow-up from the sweep in
`closeloop.followups.actors` once the first-feedback window has passed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import Action, Status
from closeloop.cases.models import Case, CaseEvent
from closeloop.followups.service import FollowupService

__all__ = ["on_case_action"]

_ENDS = frozenset({Status.REOPENED, Status.CLOSED, Status.CLOSED_INVALID, Status.ARCHIVED})


async def on_case_action(session: AsyncSession, case: Case, action: str, event: CaseEvent) -> None:
    followups = FollowupService(session, actor=event.actor)
    at = event.created_at
    if action == Action.FOLLOWUP:
        await followups.complete(case, outcome=case.followup_outcome, at=at)
    if case.status in _ENDS and event.from_status != case.status:
        await followups.cancel_open(case.id, at=at)
    elif action == Action.FEEDBACK and case.status == Status.FEEDBACK_RECEIVED:
        await followups.schedule(case, now=at)
    elif action == Action.SCHEDULE_FOLLOWUP:
        await followups.schedule(case, not_before=case.followup_after, now=at)
