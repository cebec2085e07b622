"""Names the console shows for ids: staff, departments, categories, severities.

Reads of the bound tenant's own tables (the tenant criterion and row-level security
apply), in the page's language.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import any_, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.actions import HANDLER_ROLES
from closeloop.config import current
from closeloop.config.models import Category, Channel, Department, Severity
from closeloop.identity.models import User

__all__ = ["Choice", "Names", "assignable_handlers", "channels", "departments", "load_names"]

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


def _name(row: Category | Channel | Department | Severity, locale: str) -> str:
    return row.name_zh if locale == "zh-CN" else row.name_en


async def _all(session: AsyncSession, model: type[Any]) -> list[Any]:
    """Every row of a configuration table, active or not, in its order: cached per
    process under the tenant's configuration version (`config.current.shared`)."""

    async def load() -> list[Any]:
        query = select(model).order_by(model.position, model.code)
        return list((await session.scalars(query)).all())

    return await current.shared(session, ("console.directory", model.__tablename__), load)


async def load_names(
    session: AsyncSession, locale: str, user_ids: Iterable[uuid.UUID | None] = ()
) -> Names:
    wanted = {u for u in user_ids if u is not None}
    users: dict[uuid.UUID, str] = {}
    if wanted:
        rows = await session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
        users = {row.id: row.display_name for row in rows}
    categories: dict[str, str] = {}
    for category in await _all(session, Category):
        categories[str(category.id)] = categories[category.code] = _name(category, locale)
    severities = {s.code: _name(s, locale) for s in await _all(session, Severity)}
    departments = {d.id: _name(d, locale) for d in await _all(session, Department)}
    return Names(users, categories, severities, departments)


async def departments(session: AsyncSession, locale: str) -> list[Choice]:
    """The tenant's active departments, in their order."""
    return [
        Choice(str(d.id), _name(d, locale)) for d in await _all(session, Department) if d.active
    ]


async def channels(session: AsyncSession, locale: str) -> list[Choice]:
    """The tenant's channels (active or not: old cases keep theirs), in their order."""
    return [Choice(c.code, _name(c, locale)) for c in await _all(session, Channel)]


async def assignable_handlers(session: AsyncSession) -> list[Choice]:
    """Active staff who may handle a case, by name."""
    rows = await session.execute(
        select(User.id, User.display_name)
        .where(User.active, or_(*(literal(role) == any_(User.roles) for role in _HANDLER_ROLES)))
        .order_by(User.display_name)
    )
    return [Choice(str(row.id), row.display_name) for row in rows]
