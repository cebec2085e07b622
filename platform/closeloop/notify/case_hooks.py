"""Which lifecycle actions tell someone: a subscriber of `CaseChange`
(`closeloop.cases.subscribers`), after the action's timeline event is written, in its
transaction.

* request_info → the customer gets `info_request` with the question;
* progress shown to the customer → `progress_update` with the note;
* resolve → `result` with the result and the kind of solution;
* schedule_followup → `followup_scheduled` with the date;
* assign → the handler gets `assignment` (unless they assigned the case to themselves).

Intake's acknowledgement is sent by intake itself (`CaseIntakeService.register`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import Action, CaseChange
from closeloop.notify import events
from closeloop.notify.service import notify_customer, notify_staff
from closeloop.settings import Settings

__all__ = ["on_case_change"]


async def on_case_change(session: AsyncSession, change: CaseChange, settings: Settings) -> None:
    case, action, data = change.case, change.action, change.data
    if action == Action.REQUEST_INFO:
        await notify_customer(
            session, case=case, event=events.INFO_REQUEST, context={"message": data.get("question")}
        )
    elif action == Action.PROGRESS and change.visibility == "customer":
        await notify_customer(
            session, case=case, event=events.PROGRESS_UPDATE, context={"message": data.get("note")}
        )
    elif action == Action.RESOLVE:
        await notify_customer(
            session,
            case=case,
            event=events.RESULT,
            context={"message": data.get("result"), "solution": data.get("solution_type")},
        )
    elif action == Action.SCHEDULE_FOLLOWUP and case.followup_after is not None:
        await notify_customer(
            session,
            case=case,
            event=events.FOLLOWUP_SCHEDULED,
            context={"followup_at": case.followup_after.date()},
        )
    elif action == Action.ASSIGN and case.handler_id is not None:
        if change.actor == f"user:{case.handler_id}":
            return
        await notify_staff(
            session,
            user_ids=[case.handler_id],
            event=events.ASSIGNMENT,
            case=case,
            context={"assigned_by": change.actor, "note": data.get("note")},
        )
