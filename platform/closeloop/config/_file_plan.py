"""Planning a tenant file: what is stored, seen in the file's terms, and the change set
that brings it to the file. Nothing here writes."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable
from closeloop.config._file_format import TenantFile, TenantSpec
from closeloop.config.defaults import DEFAULT_PROFILE
from closeloop.config.models import TenantProfile
from closeloop.config.service import (
    CATEGORIES,
    CHANNELS,
    DEMAND_TYPES,
    DEPARTMENTS,
    PROFILE_FIELDS,
    SEVERITIES,
    ItemKind,
    profile_snapshot,
)
from closeloop.identity.models import User
from closeloop.tenancy.models import Tenant

__all__ = [
    "SECTIONS",
    "TENANT_FIELDS",
    "Change",
    "Plan",
    "State",
    "changed_fields",
    "load_state",
    "make_plan",
]

SECTIONS: dict[str, ItemKind] = {
    "departments": DEPARTMENTS,
    "categories": CATEGORIES,
    "severities": SEVERITIES,
    "channels": CHANNELS,
    "demand_types": DEMAND_TYPES,
}
TENANT_FIELDS = ("name", "locale", "timezone")


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One planned change: `op` is `add`, `change` or `deactivate` (or `create` a tenant)."""

    op: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def describe(self) -> str:
        what = f"{self.entity} {self.key}" if self.key else self.entity
        if self.op in ("add", "create"):
            return f"+ {what}"
        if self.op == "deactivate":
            return f"- {what} (deactivated)"
        before, after = self.before or {}, self.after or {}
        fields = ", ".join(f"{name} {before.get(name)!r} -> {after[name]!r}" for name in after)
        return f"~ {what}: {fields}"


# ---- what is stored, in the file's terms ------------------------------------------------


@dataclasses.dataclass
class State:
    rows: dict[str, dict[str, Any]]  # section -> code -> row
    users: dict[str, User]  # e-mail -> user
    profile: TenantProfile | None

    def code_of(self, section: str, row_id: uuid.UUID | None) -> str | None:
        if row_id is None:
            return None
        return next(code for code, row in self.rows[section].items() if row.id == row_id)

    def email_of(self, user_id: uuid.UUID | None) -> str | None:
        if user_id is None:
            return None
        return next(email for email, user in self.users.items() if user.id == user_id)

    def item_view(self, section: str, row: Any) -> dict[str, Any]:
        view = {
            "name_zh": row.name_zh,
            "name_en": row.name_en,
            "active": row.active,
            "position": row.position,
        }
        if section == "severities":
            view["rank"] = row.rank
        if section in ("departments", "categories"):
            view["parent"] = self.code_of(section, row.parent_id)
        if section == "departments":
            view["manager"] = self.email_of(row.manager_id)
        if section == "categories":
            view["kind"] = row.case_kind
            view["department"] = self.code_of("departments", row.default_department_id)
        return view

    def user_view(self, user: User) -> dict[str, Any]:
        return {
            "display_name": user.display_name,
            "roles": sorted(user.roles),
            "permissions": sorted(user.permissions),
            "department": self.code_of("departments", user.department_id),
            "active": user.active,
        }


async def load_state(session: AsyncSession) -> State:
    rows = {}
    for section, kind in SECTIONS.items():
        found = (await session.scalars(select(kind.model))).all()
        rows[section] = {row.code: row for row in found}
    users = {user.email: user for user in (await session.scalars(select(User))).all()}
    profile = await session.scalar(select(TenantProfile))
    return State(rows, users, profile)


def _spec_item_view(section: str, item: Any, index: int) -> dict[str, Any]:
    view = {
        "name_zh": item.name_zh or item.name_en,
        "name_en": item.name_en or item.name_zh,
        "active": item.active,
        "position": item.position if item.position is not None else index + 1,
    }
    if section == "severities":
        view["rank"] = item.rank
    if section in ("departments", "categories"):
        view["parent"] = item.parent
    if section == "departments":
        view["manager"] = item.manager.strip().lower() if item.manager else None
    if section == "categories":
        view["kind"] = item.kind
        view["department"] = item.department
    return view


def _spec_user_view(user: Any) -> dict[str, Any]:
    return {
        "display_name": user.display_name,
        "roles": sorted(set(user.roles)),
        "permissions": sorted(set(user.permissions)),
        "department": user.department,
        "active": user.active,
    }


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in after.items() if before.get(name) != value}


# ---- planning ---------------------------------------------------------------------------


@dataclasses.dataclass
class Plan:
    """The desired view of every item the apply may touch, and the changes it makes."""

    items: dict[str, dict[str, dict[str, Any]]]  # section -> code -> desired view
    users: dict[str, dict[str, Any]]  # email -> desired view
    passwords: dict[str, str]  # email -> initial password of a new user
    profile: dict[str, Any]
    tenant: dict[str, Any]
    changes: list[Change]


def make_plan(
    file: TenantFile, state: State, tenant: Tenant | None, env: Mapping[str, str]
) -> Plan:
    spec = file.spec
    changes: list[Change] = []
    wanted_tenant = {name: getattr(spec.tenant, name) for name in TENANT_FIELDS}
    if tenant is None:
        changes.append(Change("create", "tenant", spec.tenant.slug, None, wanted_tenant))
    else:
        current = {name: getattr(tenant, name) for name in TENANT_FIELDS}
        if changed := changed_fields(current, wanted_tenant):
            changes.append(Change("change", "tenant", spec.tenant.slug, current, changed))

    profile = _plan_profile(spec, state, changes)
    items = {section: _plan_section(file, section, state, changes) for section in SECTIONS}
    users, passwords = _plan_users(file, state, env, changes)
    _check_references(file, state)
    return Plan(items, users, passwords, profile, wanted_tenant, changes)


def _plan_profile(spec: TenantSpec, state: State, changes: list[Change]) -> dict[str, Any]:
    if spec.profile is None:
        return {}
    wanted = {
        name: msgspec.to_builtins(value)
        for name in PROFILE_FIELDS
        if (value := getattr(spec.profile, name)) is not UNSET
    }
    current = jsonable(profile_snapshot(state.profile) if state.profile else DEFAULT_PROFILE)
    changed = changed_fields(current, wanted)
    if changed:
        changes.append(
            Change("change", "profile", "", {k: current.get(k) for k in changed}, changed)
        )
    return changed


def _plan_section(
    file: TenantFile, section: str, state: State, changes: list[Change]
) -> dict[str, dict[str, Any]]:
    items = getattr(file.spec, section)
    if items is None:
        return {}
    kind, rows = SECTIONS[section], state.rows[section]
    desired = {item.code: _spec_item_view(section, item, i) for i, item in enumerate(items)}
    for code, row in rows.items():  # stored items the file does not name are retired
        if code not in desired:
            desired[code] = {**state.item_view(section, row), "active": False}
    if section == "severities":
        _move_retired_ranks(desired, {item.code for item in items})
    for code, view in desired.items():
        row = rows.get(code)
        if row is None:
            changes.append(Change("add", kind.entity, code, None, view))
            continue
        current = state.item_view(section, row)
        if changed := changed_fields(current, view):
            op = "deactivate" if set(changed) == {"active"} and not changed["active"] else "change"
            changes.append(Change(op, kind.entity, code, {k: current[k] for k in changed}, changed))
    return desired


def _move_retired_ranks(desired: dict[str, dict[str, Any]], named: set[str]) -> None:
    """A severity the file does not name keeps its rank unless a named one takes it."""
    taken = {desired[code]["rank"] for code in named}
    free = max(view["rank"] for view in desired.values()) + 1
    for code, view in sorted(desired.items(), key=lambda kv: kv[1]["rank"]):
        if code not in named and view["rank"] in taken:
            view["rank"], free = free, free + 1


def _plan_users(
    file: TenantFile, state: State, env: Mapping[str, str], changes: list[Change]
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    users = file.spec.users
    if users is None:
        return {}, {}
    desired: dict[str, dict[str, Any]] = {}
    passwords: dict[str, str] = {}
    for index, user in enumerate(users):
        email = user.email.strip().lower()
        desired[email] = _spec_user_view(user)
        if email in state.users:
            continue
        password = user.password
        if user.password_env is not None:
            password = env.get(user.password_env)
            if not password:
                raise file.error(
                    f"users[{index}].password_env",
                    f"environment variable {user.password_env} is not set",
                )
        if password is None:
            raise file.error(
                f"users[{index}].password", f"new user {email} needs password or password_env"
            )
        passwords[email] = password
    for email, row in state.users.items():
        if email not in desired:
            desired[email] = {**state.user_view(row), "active": False}
    for email, view in desired.items():
        stored = state.users.get(email)
        if stored is None:
            changes.append(Change("add", "user", email, None, view))
            continue
        current = state.user_view(stored)
        if changed := changed_fields(current, view):
            op = "deactivate" if set(changed) == {"active"} and not changed["active"] else "change"
            changes.append(Change(op, "user", email, {k: current[k] for k in changed}, changed))
    return desired, passwords


def _check_references(file: TenantFile, state: State) -> None:
    """References into sections the file leaves out are checked against what is stored."""
    spec = file.spec
    departments = (
        {d.code for d in spec.departments}
        if spec.departments is not None
        else set(state.rows["departments"])
    )
    emails = (
        {u.email.strip().lower() for u in spec.users}
        if spec.users is not None
        else set(state.users)
    )
    for index, category in enumerate(spec.categories or []):
        if category.department is not None and category.department not in departments:
            raise file.error(
                f"categories[{index}].department",
                f"unknown department code {category.department!r}",
            )
    for index, user in enumerate(spec.users or []):
        if user.department is not None and user.department not in departments:
            raise file.error(
                f"users[{index}].department", f"unknown department code {user.department!r}"
            )
    for index, department in enumerate(spec.departments or []):
        if department.manager is not None and department.manager.strip().lower() not in emails:
            raise file.error(
                f"departments[{index}].manager",
                f"manager {department.manager!r} is not a user of the tenant",
            )
