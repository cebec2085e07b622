"""The follow-up workbench (`/console/followups`, 回访): the caller's open follow-ups,
soonest due first, read through the API's `FollowupQueue` (a followup user sees the ones
given to them; supervisors and admins all), each with the tenant's script to read step
by step and the answers to note, and one button per outcome.

Recording one is the API's `followup` action (`POST /api/v1/cases/{id}/actions/followup`
with `script_answers`): `CaseActionService.apply`, which also closes the follow-up.
Whether the form is offered is the lifecycle's own rule (`allowed_actions`): nobody
who handled the case is ever offered it.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from closeloop.cases.action_schemas import decode_body
from closeloop.cases.actions import CaseActionService
from closeloop.cases.lifecycle import Action, allowed_actions
from closeloop.cases.models import Case
from closeloop.console import case_labels as L
from closeloop.console.case_forms import action_body
from closeloop.console.case_page import ACTING_VIEWER
from closeloop.console.case_view import resolution_rows
from closeloop.console.deps import Viewer
from closeloop.console.pages import render, request_locale, see_other
from closeloop.console.sessions import ConsoleUser
from closeloop.db import utcnow
from closeloop.errors import ApiError
from closeloop.followups.deps import provide_followup_queue
from closeloop.followups.queue import Due, FollowupFilters, FollowupQueue
from closeloop.followups.schemas import FollowupRead
from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.web.deps import DbSession

__all__ = ["FollowupDeskController"]

# Who has a follow-up queue (FollowupQueue refuses anyone else).
DESK_ROLES = (Role.FOLLOWUP, Role.SUPERVISOR, Role.ADMIN)
_SHOWN_ON_PAGE = (400, 409, 422)
DueFilter = Annotated[Due | None, QueryParameter(description="now, overdue or upcoming")]


@dataclasses.dataclass(frozen=True, slots=True)
class Task:
    followup: FollowupRead
    resolution: list[tuple[str, str]]
    due: str  # relative to the end of the window
    begun: bool
    offered: bool  # the lifecycle lets this user record it now


async def _tasks(
    db_session: DbSession, queue: FollowupQueue, viewer: ConsoleUser, locale: str, due: Due | None
) -> list[Task]:
    page = await queue.page(FollowupFilters(due=due), locale=locale, limit=100)
    ids = {item.case_id for item in page.items}
    cases = {
        case.id: case
        for case in (await db_session.scalars(select(Case).where(Case.id.in_(ids)))).all()
    }
    now = utcnow()
    return [
        Task(
            followup=item,
            resolution=resolution_rows(locale, viewer.tenant_timezone, item.case.resolution),
            due=L.due_text(locale, item.due_by, now),
            begun=item.due_from <= now,
            offered=Action.FOLLOWUP.value in allowed_actions(cases[item.case_id], viewer.principal),
        )
        for item in page.items
    ]


class FollowupDeskController(Controller):
    path = "/followups"
    dependencies = {
        **ACTING_VIEWER,
        "queue": Provide(provide_followup_queue, sync_to_thread=False),
    }

    @get("/", opt=access(*DESK_ROLES))
    async def desk(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        viewer: Viewer,
        queue: NamedDependency[FollowupQueue],
        due: DueFilter = None,
    ) -> Template:
        return await self._render(request, db_session, queue, viewer, due)

    @staticmethod
    async def _render(
        request: Request[Any, Any, Any],
        db_session: DbSession,
        queue: FollowupQueue,
        viewer: ConsoleUser,
        due: Due | None,
        *,
        status_code: int = 200,
        problem: tuple[uuid.UUID, str] | None = None,
        posted: dict[str, str] | None = None,
    ) -> Template:
        locale = request_locale(request, viewer.tenant_locale)
        return render(
            request,
            "followups/desk.html",
            locale=locale,
            status_code=status_code,
            viewer=viewer,
            tasks=await _tasks(db_session, queue, viewer, locale, due),
            due=due,
            problem=problem,
            posted=posted or {},
            labels=L,
        )

    @post("/{followup_id:uuid}", opt=access(*DESK_ROLES), status_code=303)
    async def record(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        viewer: Viewer,
        queue: NamedDependency[FollowupQueue],
        actions: NamedDependency[CaseActionService],
        followup_id: FromPath[uuid.UUID],
    ) -> Redirect | Template:
        """Record the follow-up: outcome, note and the script's answers."""
        task = await queue.task(followup_id)  # 404 unless the caller may see it
        form = await request.form()
        try:
            async with db_session.begin_nested():
                body = decode_body(Action.FOLLOWUP, action_body(form, viewer.tenant_timezone))
                await actions.apply(task.case_id, Action.FOLLOWUP, body)
        except ApiError as exc:
            if exc.status_code not in _SHOWN_ON_PAGE:
                raise
            posted = {key: str(form.get(key) or "") for key in form if key != "_csrf_token"}
            return await self._render(
                request,
                db_session,
                queue,
                viewer,
                None,
                status_code=exc.status_code,
                problem=(followup_id, exc.message),
                posted=posted,
            )
        return see_other("/console/followups")
