"""HTTP for the lifecycle: `POST /api/v1/cases/{id}/actions/{action}` and the timeline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from closeloop.cases.action_schemas import CaseState, decode_body
from closeloop.cases.actions import CaseActionService
from closeloop.cases.deps import provide_case_actions, provide_timeline
from closeloop.cases.lifecycle import Action, allowed_actions
from closeloop.cases.models import Case
from closeloop.cases.timeline import (
    MAX_TIMELINE_LIMIT,
    TimelinePage,
    TimelineService,
    Visibility,
    event_read,
)
from closeloop.cases.views import shown_names
from closeloop.crud import read_as
from closeloop.errors import NotFound
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.principal import Principal
from closeloop.web.deps import Caller

__all__ = ["CaseActionController", "CaseTimelineController", "case_state"]

_ACTIONS_DOC = """\
Apply a lifecycle action (see docs/cases-lifecycle.md). Bodies per action:
`verify {valid, category_id?, severity_id?, note?, explanation?}`, `invalidate {explanation}`,
`request_info {question, reason?}`, `resume {note?}`,
`assign {lead_department_id, handler_id, collaborating_department_ids?, deadline?, note?}`,
`start {note?}`, `progress {note, visibility?: internal|customer}`,
`resolve {root_cause, responsible_party: internal|customer|third_party, third_party?,
solution_type, result}`, `feedback {satisfaction, reason?}`, `schedule_followup {after?}`,
`followup {outcome: resolved_satisfied|partially_resolved|unresolved, note?, script_answers?}`,
`reopen {reason}`, `archive {note?}`, `annotate {note}`,
`merge {into: the id or number of the case this one duplicates, note?}` (supervisors and
admins; 404 when `into` is no case of the tenant, 422 `merge_into_self`, 409
`merge_target_ended` when it has ended or was merged itself).
403 when the caller may not take the action; 409 `action_not_allowed` with the status and the
allowed actions when the case's status does not accept it.
"""


def case_state(case: Case, principal: Principal, event_id: uuid.UUID | None = None) -> CaseState:
    return read_as(
        CaseState,
        case,
        **shown_names(case),
        status=str(case.status),
        handler_history=list(case.handler_history),
        collaborating_department_ids=list(case.collaborating_department_ids),
        allowed_actions=allowed_actions(case, principal),
        event_id=event_id,
    )


def _action(name: str) -> Action:
    try:
        return Action(name)
    except ValueError:
        raise NotFound(
            f"no action {name!r}; actions are {', '.join(a.value for a in Action)}",
            code="unknown_action",
            details={"action": name, "actions": [a.value for a in Action]},
        ) from None


class CaseActionController(Controller):
    path = "/api/v1/cases"
    tags = ("cases",)
    dependencies = {"actions": Provide(provide_case_actions, sync_to_thread=False)}

    # Any member may ask; the lifecycle table (closeloop.cases.lifecycle) checks the
    # roles of each action, in one place, when the action is applied.
    @post(
        "/{case_id:uuid}/actions/{action:str}",
        status_code=200,
        description=_ACTIONS_DOC,
        opt=access(*ALL_ROLES),
    )
    async def take_action(
        self,
        principal: Caller,
        actions: NamedDependency[CaseActionService],
        case_id: FromPath[uuid.UUID],
        action: FromPath[str],
        data: JSONBody[dict[str, Any] | None] = None,
    ) -> CaseState:
        """Take a lifecycle action on a case; answers the case as it now is."""
        chosen = _action(action)
        parsed = decode_body(chosen, data)
        case, change = await actions.apply(case_id, chosen, parsed)
        return case_state(case, principal, change.event_id)


class CaseTimelineController(Controller):
    path = "/api/v1/cases"
    tags = ("cases",)
    opt = access(*ALL_ROLES)
    dependencies = {"timeline_service": Provide(provide_timeline, sync_to_thread=False)}

    @get("/{case_id:uuid}/timeline")
    async def timeline(
        self,
        timeline_service: NamedDependency[TimelineService],
        case_id: FromPath[uuid.UUID],
        visibility: Annotated[
            Visibility | None,
            QueryParameter(description="`customer`: only what the customer may be shown"),
        ] = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of a page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_TIMELINE_LIMIT)] = 100,
    ) -> TimelinePage:
        """The case's events, oldest first, a page at a time like every list. Every event
        is shown to the tenant's staff."""
        events, next_cursor = await timeline_service.events(
            case_id, visibility=visibility, limit=limit, cursor=cursor
        )
        return TimelinePage(items=[event_read(e) for e in events], next_cursor=next_cursor)
