"""What the lifecycle means for follow-ups: a subscriber of `CaseChange`
(`closeloop.cases.subscribers`), after the action's timeline event is written, in its
transaction, on the locked case.

* feedback, satisfied (the case is `feedback_received`) → the follow-up is scheduled
  and assigned (`FollowupService.schedule`);
* schedule_followup → the same, its `after` moving the window later when it is later;
* followup → the open follow-up is done, with the outcome, by whoever took the action;
* the case is reopened (unsatisfied answer, unresolved follow-up, reopen) or ends
  otherwise (`lifecycle.ENDED`: closed, invalid, merged, archived) → its open follow-up
  is cancelled.

A case resolved and never answered gets its follow-up from the sweep in
`closeloop.followups.actors` once the first-feedback window has passed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import ENDED, Action, CaseChange, Status
from closeloop.followups.service import FollowupService
from closeloop.settings import Settings

__all__ = ["on_case_change"]

# Where an open follow-up has no more purpose.
_CANCELS = ENDED | {Status.REOPENED}


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    case, action, at = change.case, change.action, change.at
    followups = FollowupService(session, actor=change.actor)
    if action == Action.FOLLOWUP:
        await followups.complete(case, outcome=case.followup_outcome, at=at)
    if case.status in _CANCELS and change.status_changed:
        await followups.cancel_open(case.id, at=at)
    elif action == Action.FEEDBACK and case.status == Status.FEEDBACK_RECEIVED:
        await followups.schedule(case, now=at)
    elif action == Action.SCHEDULE_FOLLOWUP:
        await followups.schedule(case, not_before=case.followup_after, now=at)
