"""Reading follow-ups: each caller's queue, soonest due first, with the case summary and
the tenant's follow-up script.

Who sees what: supervisors and admins every follow-up of the tenant (unassigned ones
too); a user with the followup role the ones assigned to them; anyone else 403. A
follow-up the caller may not see answers 404, like one of another tenant.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, Customer
from closeloop.cases.views import shown_names
from closeloop.config.defaults import DEFAULT_PROFILE
from closeloop.config.models import TenantProfile
from closeloop.crud import read_as
from closeloop.db import required_tenant, utcnow
from closeloop.errors import Forbidden, NotFound, UnprocessableEntity
from closeloop.followups.models import FollowupStatus, FollowupTask
from closeloop.followups.schemas import FollowupCase, FollowupPage, FollowupRead, ScriptLine
from closeloop.identity.models import Role, User
from closeloop.identity.principal import Principal
from closeloop.notify.events import locale_of
from closeloop.paging import after, page
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant

__all__ = ["Due", "FollowupFilters", "FollowupQueue"]

Due = Literal["now", "overdue", "upcoming"]
_ALL = (Role.ADMIN, Role.SUPERVISOR)


@dataclasses.dataclass(frozen=True)
class FollowupFilters:
    """`status` (default open); `due`: `now` (the window has begun), `overdue` (past
    `due_by`), `upcoming` (not begun); `assignee`: `me`, `unassigned` or a user id
    (supervisors and admins)."""

    status: str | None = FollowupStatus.OPEN.value
    due: Due | None = None
    assignee: str | None = None


class FollowupQueue:
    def __init__(
        self, session: AsyncSession, *, principal: Principal, settings: Settings | None = None
    ) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings
        self.tenant_id = required_tenant(session, "FollowupQueue")

    @property
    def sees_all(self) -> bool:
        return self.principal.has_role(*_ALL)

    def _visible(self, query: Select[Any]) -> Select[Any]:
        if self.sees_all:
            return query
        if not self.principal.has_role(Role.FOLLOWUP):
            raise Forbidden(
                "the follow-up queue needs the followup, supervisor or admin role",
                code="role_required",
            )
        return query.where(FollowupTask.assignee_id == self.principal.user_id)

    async def page(
        self,
        filters: FollowupFilters,
        *,
        locale: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FollowupPage:
        query = self._visible(select(FollowupTask))
        now = utcnow()
        if filters.status is not None:
            query = query.where(FollowupTask.status == filters.status)
        if filters.due == "now":
            query = query.where(FollowupTask.due_from <= now)
        elif filters.due == "overdue":
            query = query.where(FollowupTask.due_by < now)
        elif filters.due == "upcoming":
            query = query.where(FollowupTask.due_from > now)
        query = self._assignee(query, filters.assignee)
        query = after(query, (FollowupTask.due_by, FollowupTask.id), cursor, descending=False)
        query = query.order_by(FollowupTask.due_by, FollowupTask.id).limit(limit + 1)
        tasks, next_cursor = page(
            (await self.session.scalars(query)).all(), limit, lambda task: (task.due_by, task.id)
        )
        return FollowupPage(items=await self._reads(tasks, locale), next_cursor=next_cursor)

    def _assignee(self, query: Select[Any], assignee: str | None) -> Select[Any]:
        if assignee is None:
            return query
        if assignee == "me":
            return query.where(FollowupTask.assignee_id == self.principal.user_id)
        if assignee == "unassigned":
            return query.where(FollowupTask.assignee_id.is_(None))
        try:
            return query.where(FollowupTask.assignee_id == uuid.UUID(assignee))
        except ValueError:
            raise UnprocessableEntity(
                "assignee: me, unassigned or a user id", field="assignee"
            ) from None

    async def task(self, followup_id: uuid.UUID) -> FollowupTask:
        """The follow-up, if the caller may see it (404 otherwise)."""
        task: FollowupTask | None = await self.session.scalar(
            self._visible(select(FollowupTask).where(FollowupTask.id == followup_id))
        )
        if task is None:
            raise NotFound("no such follow-up")
        return task

    async def read(self, task: FollowupTask, locale: str | None = None) -> FollowupRead:
        return (await self._reads([task], locale))[0]

    async def _reads(self, tasks: Sequence[FollowupTask], locale: str | None) -> list[FollowupRead]:
        if not tasks:
            return []
        locale = locale or locale_of(
            await self.session.scalar(select(Tenant.locale).where(Tenant.id == self.tenant_id))
        )
        script = await self._script(locale)
        cases = {
            case.id: case
            for case in await self.session.scalars(
                select(Case).where(Case.id.in_({t.case_id for t in tasks}))
            )
        }
        customer_ids = {c.customer_id for c in cases.values() if c.customer_id is not None}
        nicknames: dict[uuid.UUID, str | None] = {}
        if customer_ids:
            rows = await self.session.execute(
                select(Customer.id, Customer.nickname).where(Customer.id.in_(customer_ids))
            )
            nicknames = {row.id: row.nickname for row in rows.all()}
        assignee_ids = {t.assignee_id for t in tasks if t.assignee_id is not None}
        names: dict[uuid.UUID, str] = {}
        if assignee_ids:
            rows = await self.session.execute(
                select(User.id, User.display_name).where(User.id.in_(assignee_ids))
            )
            names = {row.id: row.display_name for row in rows.all()}
        now = utcnow()
        return [
            read_as(
                FollowupRead,
                task,
                assignee_name=names.get(task.assignee_id) if task.assignee_id else None,
                overdue=task.status == FollowupStatus.OPEN and task.due_by < now,
                locale=locale,
                case=_case_summary(cases[task.case_id], nicknames),
                script=script,
            )
            for task in tasks
        ]

    async def _script(self, locale: str) -> list[ScriptLine]:
        profile = await self.session.scalar(select(TenantProfile).limit(1))
        steps = (profile.followup_script if profile else None) or DEFAULT_PROFILE["followup_script"]
        first, second = ("text_en", "text_zh") if locale == "en" else ("text_zh", "text_en")
        return [
            ScriptLine(
                step=str(step.get("step")),
                text=str(step.get(first) or step.get(second) or ""),
            )
            for step in steps
        ]


def _case_summary(case: Case, nicknames: dict[uuid.UUID, str | None]) -> FollowupCase:
    return read_as(
        FollowupCase,
        case,
        **shown_names(case),
        customer_nickname=nicknames.get(case.customer_id) if case.customer_id else None,
    )
