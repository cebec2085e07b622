"""Which lifecycle actions tell someone: called once by `CaseActionService.apply()`
after the action's timeline event is written, in its transaction.

* request_info → the customer gets `info_request` with the question;
* progress shown to the customer → `progress_update` with the note;
* resolve → `result` with the result and the kind of solution;
* schedule_followup → `followup_scheduled` with the date;
* assign → the handler gets `assignment` (unless they assigned the case to themselves).

Intake's acknowledgement is sent by intake itself (`CaseIntakeService.register`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, CaseEvent
from closeloop.notify import events
from closeloop.notify.service import notify_customer, notify_staff

__all__ = ["notify_case_action"]


async def notify_case_action(
    session: AsyncSession, case: Case, action: str, event: CaseEvent
) -> None:
    data = event.data or {}
    if action == "request_info":
        await notify_customer(
            session, case=case, event=events.INFO_REQUEST, context={"message": data.get("question")}
        )
    elif action == "progress" and event.visibility == "customer":
        await notify_customer(
            session, case=case, event=events.PROGRESS_UPDATE, context={"message": data.get("note")}
        )
    elif action == "resolve":
        await notify_customer(
            session,
            case=case,
            event=events.RESULT,
            context={"message": data.get("result"), "solution": data.get("solution_type")},
        )
    elif action == "schedule_followup" and case.followup_after is not None:
        await notify_customer(
            session,
            case=case,
            event=events.FOLLOWUP_SCHEDULED,
            context={"followup_at": case.followup_after.date()},
        )
    elif action == "assign" and case.handler_id is not None:
        if event.actor == f"user:{case.handler_id}":
            return
        await notify_staff(
            session,
            user_ids=[case.handler_id],
            event=events.ASSIGNMENT,
            case=case,
            context={"assigned_by": event.actor, "note": data.get("note")},
        )
