"""HTTP for follow-ups: the caller's queue, one follow-up, and a supervisor's assignment.

The follow-up itself is recorded with the lifecycle action
`POST /api/v1/cases/{case_id}/actions/followup`, which also closes the open follow-up.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from closeloop.followups.deps import provide_followup_queue, provide_followup_service
from closeloop.followups.queue import Due, FollowupFilters, FollowupQueue
from closeloop.followups.schemas import FollowupAssign, FollowupPage, FollowupRead
from closeloop.followups.service import FollowupService
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.web.deps import Caller

__all__ = ["FollowupController"]

Locale = Annotated[
    Literal["zh-CN", "en"] | None,
    QueryParameter(description="language of the script (default: the tenant's)"),
]
Status = Annotated[
    Literal["open", "done", "cancelled"],
    QueryParameter(description="default: open"),
]


class FollowupController(Controller):
    path = "/api/v1/followups"
    tags = ("followups",)
    # One follow-up: any member may ask; the queue shows it to whom it may (else 404).
    opt = access(*ALL_ROLES)
    dependencies = {
        "queue": Provide(provide_followup_queue, sync_to_thread=False),
        "followups": Provide(provide_followup_service, sync_to_thread=False),
    }

    @get("/", opt=access(Role.ADMIN, Role.SUPERVISOR, Role.FOLLOWUP))
    async def list_followups(
        self,
        queue: NamedDependency[FollowupQueue],
        status: Status = "open",
        due: Annotated[
            Due | None,
            QueryParameter(description="now: window begun; overdue: past due_by; upcoming"),
        ] = None,
        assignee: Annotated[
            str | None,
            QueryParameter(description="me, unassigned or a user id", max_length=64),
        ] = None,
        locale: Locale = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=120)] = None,
    ) -> FollowupPage:
        """The caller's follow-up queue, soonest `due_by` first, each with the case summary
        and the tenant's follow-up script. A followup user sees the ones assigned to them;
        supervisors and admins see all (`assignee=unassigned` for the ones nobody could
        be given)."""
        filters = FollowupFilters(status=status, due=due, assignee=assignee)
        return await queue.page(filters, locale=locale, limit=limit, cursor=cursor)

    @get("/{followup_id:uuid}")
    async def get_followup(
        self,
        queue: NamedDependency[FollowupQueue],
        followup_id: FromPath[uuid.UUID],
        locale: Locale = None,
    ) -> FollowupRead:
        return await queue.read(await queue.task(followup_id), locale)

    @post("/{followup_id:uuid}/assign", status_code=200, opt=access(Role.SUPERVISOR, Role.ADMIN))
    async def assign_followup(
        self,
        principal: Caller,
        queue: NamedDependency[FollowupQueue],
        followups: NamedDependency[FollowupService],
        followup_id: FromPath[uuid.UUID],
        data: JSONBody[FollowupAssign],
    ) -> FollowupRead:
        """Give an open follow-up to another followup user (supervisors and admins); 422
        naming `assignee_id` for a user who is inactive, lacks the role or handled the
        case."""
        task = await queue.task(followup_id)
        await followups.assign(task, data.assignee_id)
        return await queue.read(task)
