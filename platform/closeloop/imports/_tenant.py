"""The tenant's side of an import: its codes for the mapper (`Known`), the rows those
codes stand for, and the configuration items a mapping creates (`Creation`)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config import current
from closeloop.config.models import Category, Channel, DemandType, Department, Severity
from closeloop.db import bound_tenant, new_id
from closeloop.identity.models import User
from closeloop.imports.known import Known, KnownItem
from closeloop.imports.records import Creation, Person
from closeloop.imports.values import match_key

__all__ = ["TenantCodes"]

_NAME = 200


@dataclasses.dataclass
class TenantCodes:
    """What the writer needs to turn an `ImportedCase`'s codes into the tenant's rows."""

    known: Known
    categories: dict[str, Category]
    severities: dict[str, Severity]
    departments: dict[str, uuid.UUID]  # by code and by name (match key)
    users: dict[str, uuid.UUID]  # by e-mail (lower case) and by display name (match key)

    @classmethod
    async def load(cls, session: AsyncSession) -> TenantCodes:
        categories = list(await session.scalars(select(Category).where(Category.active)))
        by_id = {c.id: c for c in categories}
        channels = list(await session.scalars(select(Channel).where(Channel.active)))
        severities = list(await session.scalars(select(Severity).where(Severity.active)))
        departments = list(await session.scalars(select(Department).where(Department.active)))
        demands = list(await session.scalars(select(DemandType).where(DemandType.active)))
        users = list(await session.scalars(select(User).where(User.active)))
        profile = await current.profile(session)
        scale = profile.satisfaction_scale if profile is not None else []

        def named(rows: Iterable[Channel | Severity | Department | DemandType]) -> list[KnownItem]:
            return [KnownItem(r.code, (r.name_zh, r.name_en)) for r in rows]

        known = Known(
            channel=named(channels),
            category=[
                KnownItem(
                    c.code,
                    (c.name_zh, c.name_en),
                    by_id[c.parent_id].code if c.parent_id in by_id else None,
                )
                for c in categories
            ],
            severity=named(severities),
            department=named(departments),
            demand=named(demands),
            satisfaction=[
                KnownItem(str(s["code"]), (str(s.get("name_zh", "")), str(s.get("name_en", ""))))
                for s in scale
            ],
        )
        people: dict[str, uuid.UUID] = {}
        for user in users:
            people.setdefault(match_key(user.display_name), user.id)
            people[user.email.lower()] = user.id
        codes = cls(
            known,
            {c.code: c for c in categories},
            {s.code: s for s in severities},
            {},
            people,
        )
        for department in departments:
            codes._department(department)
        return codes

    def _department(self, row: Department) -> None:
        self.departments[row.code] = row.id
        for name in (row.name_zh, row.name_en):
            self.departments.setdefault(match_key(name), row.id)

    def department(self, value: str | None) -> uuid.UUID | None:
        if not value:
            return None
        return self.departments.get(value) or self.departments.get(match_key(value))

    def user(self, person: Person | None) -> uuid.UUID | None:
        if person is None:
            return None
        if person.email and person.email.lower() in self.users:
            return self.users[person.email.lower()]
        return self.users.get(match_key(person.name)) if person.name else None

    def plan(
        self, creations: Iterable[Creation]
    ) -> list[Category | Channel | DemandType | Department]:
        """The configuration items the mapping asked for (parents first), as new rows with
        their ids, known from now on to `categories`, `department()`: cases can be built
        with them before `store()` writes them."""
        planned: list[Category | Channel | DemandType | Department] = []
        for item in creations:
            name = item.name[:_NAME]
            values = {
                "id": new_id(),
                "code": item.code,
                "name_zh": name,
                "name_en": name,
                "position": 900,
            }
            if item.kind == "category":
                parent = self.categories.get(item.parent) if item.parent else None
                category = Category(**values, parent_id=parent.id if parent else None)
                self.categories[item.code] = category
                planned.append(category)
            elif item.kind == "channel":
                planned.append(Channel(**values))
            elif item.kind == "demand":
                planned.append(DemandType(**values))
            else:
                department = Department(**values)
                self._department(department)
                planned.append(department)
        return planned

    @staticmethod
    async def store(
        session: AsyncSession, planned: list[Category | Channel | DemandType | Department]
    ) -> None:
        """Write the items `plan()` made, for the session's tenant."""
        tenant_id = bound_tenant(session)
        assert tenant_id is not None, "configuration is created for the bound tenant"
        for row in planned:
            row.tenant_id = tenant_id
        session.add_all(planned)
        if planned:
            await session.flush()
