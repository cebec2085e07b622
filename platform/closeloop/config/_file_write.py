"""Writing a planned tenant file: items parents first, users through `UserService`,
department managers once the users exist; every change audited."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import record
from closeloop.config._file_plan import SECTIONS, TENANT_FIELDS, State, changed_fields
from closeloop.config.service import DEPARTMENTS, record_item, snapshot
from closeloop.crud import Audits
from closeloop.db import new_id
from closeloop.identity.models import User
from closeloop.identity.service import UserService
from closeloop.tenancy.models import Tenant

__all__ = ["Writer", "parents_first", "update_tenant"]


async def update_tenant(
    session: AsyncSession, tenant: Tenant, wanted: dict[str, Any], actor: str
) -> None:
    current = {name: getattr(tenant, name) for name in TENANT_FIELDS}
    changed = changed_fields(current, wanted)
    if not changed:
        return
    for name, value in changed.items():
        setattr(tenant, name, value)
    await session.flush()
    await record(
        session,
        actor=actor,
        action="tenant.update",
        entity_type="tenant",
        entity_id=tenant.id,
        before={k: current[k] for k in changed},
        after=changed,
    )


def parents_first(desired: dict[str, dict[str, Any]]) -> list[str]:
    order: list[str] = []
    placed: set[str] = set()

    def place(code: str) -> None:
        if code in placed:
            return
        parent = desired[code].get("parent")
        if parent is not None and parent in desired:
            place(parent)
        placed.add(code)
        order.append(code)

    for code in desired:
        place(code)
    return order


def _ends_active_admin(view: dict[str, Any]) -> bool:
    return bool(view["active"]) and "admin" in view["roles"]


class Writer(Audits):
    def __init__(
        self, session: AsyncSession, tenant_id: uuid.UUID, actor: str, state: State
    ) -> None:
        self.session, self.tenant_id, self.actor, self.state = session, tenant_id, actor, state

    def _id(self, section: str, code: str | None) -> uuid.UUID | None:
        return None if code is None else self.state.rows[section][code].id

    def _user_id(self, email: str | None) -> uuid.UUID | None:
        return None if email is None else self.state.users[email].id

    def _columns(self, section: str, view: dict[str, Any]) -> dict[str, Any]:
        columns = {name: view[name] for name in ("name_zh", "name_en", "active", "position")}
        if section == "severities":
            columns["rank"] = view["rank"]
        if section in ("departments", "categories"):
            columns["parent_id"] = self._id(section, view["parent"])
        if section == "departments" and "manager" in view:
            columns["manager_id"] = self._user_id(view["manager"])
        if section == "categories":
            columns["case_kind"] = view["kind"]
            columns["default_department_id"] = self._id("departments", view["department"])
        return columns

    async def items(
        self, section: str, desired: dict[str, dict[str, Any]], *, defer_manager: bool = False
    ) -> None:
        kind, rows = SECTIONS[section], self.state.rows[section]
        befores = {code: snapshot(kind, row) for code, row in rows.items()}
        if section == "severities":
            await self._free_ranks(rows, desired)
        for code in parents_first(desired):
            view = desired[code]
            if defer_manager:
                view = {k: v for k, v in view.items() if k != "manager"}
            row = rows.get(code)
            if row is None:
                row = kind.model(
                    tenant_id=self.tenant_id, id=new_id(), code=code, **self._columns(section, view)
                )
                self.session.add(row)
                await self.session.flush()
                rows[code] = row
                await record_item(self.session, self.actor, kind, row, None)
                continue
            for name, value in self._columns(section, view).items():
                setattr(row, name, value)
            await self.session.flush()
            await record_item(self.session, self.actor, kind, row, befores[code])

    async def _free_ranks(self, rows: dict[str, Any], desired: dict[str, dict[str, Any]]) -> None:
        """Park every severity whose rank changes on a temporary rank, so swaps pass the
        unique (tenant, rank) constraint."""
        moving = [
            row
            for code, row in rows.items()
            if code in desired and row.rank != desired[code]["rank"]
        ]
        for offset, row in enumerate(moving, start=1):
            row.rank = -offset
        if moving:
            await self.session.flush()

    async def managers(self, desired: dict[str, dict[str, Any]]) -> None:
        for code, view in desired.items():
            row = self.state.rows["departments"][code]
            manager_id = self._user_id(view["manager"])
            if row.manager_id != manager_id:
                before = snapshot(DEPARTMENTS, row)
                row.manager_id = manager_id
                await self.session.flush()
                await record_item(self.session, self.actor, DEPARTMENTS, row, before)

    async def users(self, desired: dict[str, dict[str, Any]], passwords: dict[str, str]) -> None:
        service = UserService(self.session, actor=self.actor)
        # Users who end as active admins are written first, so a file that hands the
        # admin role from one user to another never passes through a state without one
        # (UserService refuses to take the tenant's last active admin away).
        for email in sorted(desired, key=lambda email: not _ends_active_admin(desired[email])):
            view = desired[email]
            department_id = self._id("departments", view["department"])
            user = self.state.users.get(email)
            if user is None:
                user = await service.create(
                    email=email,
                    display_name=view["display_name"],
                    password=passwords[email],
                    roles=view["roles"],
                    permissions=view["permissions"],
                    department_id=department_id,
                )
                self.state.users[email] = user
                if not view["active"]:
                    await service.update(user.id, active=False)
                continue
            current = self.state.user_view(user)
            changed = changed_fields(current, view)
            if not changed:
                continue
            await service.update(
                user.id,
                display_name=changed.get("display_name"),
                roles=changed.get("roles"),
                permissions=changed.get("permissions"),
                active=changed.get("active"),
                department_id=department_id if "department" in changed else None,
            )
            if "department" in changed and department_id is None:
                await self._clear_department(user, current["department"])

    async def _clear_department(self, user: User, old_code: str | None) -> None:
        """`UserService.update` reads None as "no change"; taking a user out of a
        department is done here."""
        user.department_id = None
        await self.session.flush()
        await self.record(
            "user.update",
            "user",
            user.id,
            before={
                "department_id": str(self.state.rows["departments"][old_code].id)
                if old_code
                else None
            },
            after={"department_id": None},
        )
