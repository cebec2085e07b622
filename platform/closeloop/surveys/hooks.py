"""What the lifecycle means for surveys: a subscriber of `CaseChange`
(`closeloop.cases.subscribers`), after the action's timeline event is written, in its
transaction, on the locked case.

* resolve → a new survey, its link sent to the customer; the case's earlier unanswered
  surveys end (their links answer 410).

While the case is not `resolved` (feedback already given, reopened, closed), a survey's
link answers 409 `survey_not_awaited`; it is not withdrawn, so the customer is told why.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import Action, CaseChange
from closeloop.settings import Settings
from closeloop.surveys.sending import send_survey

__all__ = ["on_case_change"]


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    if change.action == Action.RESOLVE:
        await send_survey(session, change.case, settings=settings, now=change.at)
