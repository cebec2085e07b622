"""Names the console shows for ids: staff, departments, categories, severities.

Reads of the bound tenant's own tables (the tenant criterion and row-level security
apply), in the page's language.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import NamedTuple

from sqlalchemy import any_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.actions import HANDLER_ROLES
from closeloop.config.models import Category, Department, Severity
from closeloop.identity.models import User

__all__ = ["Choice", "Names", "assignable_handlers", "departments", "load_names"]

# Who may be made a case's handler: the assign action's own rule.
_HANDLER_ROLES = [role.value for role in HANDLER_ROLES]


class Choice(NamedTuple):
    """An option of a select: what is sent and what is shown."""

    value: str
    label: str


@dataclasses.dataclass(frozen=True, slots=True)
class Names:
    """Display names by id or code, in one language."""

    users: dict[uuid.UUID, str]
    categories: dict[str, str]  # by id and by code
    severities: dict[str, str]  # by code
    departments: dict[uuid.UUID, str]

    def category(self, category_id: uuid.UUID | None, code: str | None) -> str:
        if category_id is not None and str(category_id) in self.categories:
            return self.categories[str(category_id)]
        return self.categories.get(code or "", code or "")


def _name(row: Category | Department | Severity, locale: str) -> str:
    return row.name_zh if locale == "zh-CN" else row.name_en


async def load_names(
    session: AsyncSession, locale: str, user_ids: Iterable[uuid.UUID | None] = ()
) -> Names:
    wanted = {u for u in user_ids if u is not None}
    users: dict[uuid.UUID, str] = {}
    if wanted:
        rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
        users = {row.id: row.display_name for row in rows}
    categories: dict[str, str] = {}
    for category in await session.scalars(select(Category)):
        categories[str(category.id)] = categories[category.code] = _name(category, locale)
    severities = {s.code: _name(s, locale) for s in await session.scalars(select(Severity))}
    departments = {d.id: _name(d, locale) for d in await session.scalars(select(Department))}
    return Names(users, categories, severities, departments)


async def departments(session: AsyncSession, locale: str) -> list[Choice]:
    """The tenant's active departments, in their order."""
    rows = await session.scalars(
        select(Department).where(Department.active).order_by(Department.position, Department.code)
    )
    return [Choice(str(d.id), _name(d, locale)) for d in rows]


async def assignable_handlers(session: AsyncSession) -> list[Choice]:
    """Active staff who may handle a case, by name."""
    rows = await session.execute(
        select(User.id, User.display_name)
        .where(User.active, or_(*(literal(role) == any_(User.roles) for role in _HANDLER_ROLES)))
        .order_by(User.display_name)
    )
    return [Choice(str(row.id), row.display_name) for row in rows]
