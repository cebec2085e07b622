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
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template
from sqlalchemy import select

from closeloop.cases.action_schemas import decode_body
from closeloop.cases.actions import CaseActionService
from closeloop.cases.lifecycle import Action, allowed_actions
from closeloop.cases.models import Case
from closeloop.console import case_labels as L
from closeloop.console.case_forms import action_body, posted_values
from closeloop.console.case_page import ACTING_VIEWER
from closeloop.console.case_view import resolution_rows
from closeloop.console.deps import ConsolePage, Page
from closeloop.console.pages import see_other
from closeloop.db import utcnow
from closeloop.errors import ApiError
from closeloop.followups.deps import provide_followup_queue
from closeloop.followups.queue import Due, FollowupFilters, FollowupQueue
from closeloop.followups.schemas import FollowupRead
from closeloop.identity.access import access
from closeloop.identity.models import Role

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


async def _tasks(page: ConsolePage, queue: FollowupQueue, due: Due | None) -> list[Task]:
    viewer, locale = page.viewer, page.locale
    found = await queue.page(FollowupFilters(due=due), locale=locale, limit=100)
    ids = {item.case_id for item in found.items}
    cases = {
        case.id: case
        for case in (await page.db_session.scalars(select(Case).where(Case.id.in_(ids)))).all()
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
        for item in found.items
    ]


class FollowupDeskController(Controller):
    path = "/followups"
    dependencies = {
        **ACTING_VIEWER,
        "queue": Provide(provide_followup_queue, sync_to_thread=False),
    }

    @get("/", opt=access(*DESK_ROLES))
    async def desk(
        self, page: Page, queue: NamedDependency[FollowupQueue], due: DueFilter = None
    ) -> Template:
        return await self._render(page, queue, due)

    @staticmethod
    async def _render(
        page: ConsolePage,
        queue: FollowupQueue,
        due: Due | None,
        *,
        status_code: int = 200,
        problem: tuple[uuid.UUID, str] | None = None,
        posted: dict[str, str] | None = None,
    ) -> Template:
        return page.render(
            "followups/desk.html",
            status_code=status_code,
            tasks=await _tasks(page, queue, due),
            due=due,
            problem=problem,
            posted=posted or {},
            labels=L,
        )

    @post("/{followup_id:uuid}", opt=access(*DESK_ROLES), status_code=303)
    async def record(
        self,
        page: Page,
        queue: NamedDependency[FollowupQueue],
        actions: NamedDependency[CaseActionService],
        followup_id: FromPath[uuid.UUID],
    ) -> Redirect | Template:
        """Record the follow-up: outcome, note and the script's answers."""
        task = await queue.task(followup_id)  # 404 unless the caller may see it
        form = await page.request.form()
        try:
            async with page.db_session.begin_nested():
                body = decode_body(Action.FOLLOWUP, action_body(form, page.viewer.tenant_timezone))
                await actions.apply(task.case_id, Action.FOLLOWUP, body)
        except ApiError as exc:
            if exc.status_code not in _SHOWN_ON_PAGE:
                raise
            return await self._render(
                page,
                queue,
                None,
                status_code=exc.status_code,
                problem=(followup_id, exc.message),
                posted=posted_values(form),
            )
        return see_other("/console/followups")
