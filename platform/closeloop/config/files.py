"""Tenants as files: `closeloop tenants apply FILE` and `closeloop tenants export SLUG`.

`tenants/<slug>.toml` describes a tenant's whole configuration: the tenant itself, its
profile, severity levels, departments, categories, channels, demand types and users.

* `apply_tenant_file()` creates the tenant if it is missing, else brings it to the
  file: it plans a change set (added, changed, deactivated items) against what is
  stored, then writes it in the caller's transaction, auditing every change. With
  nothing to change it writes nothing and reports "no changes".
* A list section in the file is the whole list: a stored item the file does not
  name is deactivated (never deleted: cases refer to it). A section the file leaves
  out is left as it is (a new tenant keeps its defaults there).
* Users are matched by e-mail; their password (`password`, or `password_env` naming
  an environment variable) is only used to create them, never to reset one.
* `export_tenant()` writes the same format (users without passwords), such that
  applying the export changes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec
import tomli_w
from msgspec import UNSET
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable, record
from closeloop.config._file_format import TenantFile, TenantFileError, TenantSpec, parse_tenant_file
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
    ProfileService,
    profile_snapshot,
    record_item,
    snapshot,
)
from closeloop.db import new_id, tenant_scope
from closeloop.identity.models import User
from closeloop.identity.service import UserService
from closeloop.tenancy.models import Tenant
from closeloop.tenancy.service import TenantService

__all__ = [
    "Change",
    "ChangeSet",
    "TenantFile",
    "TenantFileError",
    "apply_tenant_file",
    "export_tenant",
    "load_tenant_file",
]

# Dependency order: categories point at departments.
SECTIONS: dict[str, ItemKind] = {
    "departments": DEPARTMENTS,
    "categories": CATEGORIES,
    "severities": SEVERITIES,
    "channels": CHANNELS,
    "demand_types": DEMAND_TYPES,
}
TENANT_FIELDS = ("name", "locale", "timezone")
EXPORT_HEADER = (
    "# Written by `closeloop tenants export`; apply it with `closeloop tenants apply`.\n"
    "# Users carry no passwords: add `password` or `password_env` to create them elsewhere.\n\n"
)


def load_tenant_file(path: Path | str, *, text: str | None = None) -> TenantFile:
    """Parse and check a tenant file; `TenantFileError` names the line and field."""
    return parse_tenant_file(path, text=text)


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One planned change: `op` is `add`, `change` or `deactivate` (or `create` a tenant)."""

    op: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def describe(self) -> str:
        if self.op in ("add", "create"):
            return f"+ {self.entity} {self.key}"
        if self.op == "deactivate":
            return f"- {self.entity} {self.key} (deactivated)"
        before, after = self.before or {}, self.after or {}
        fields = ", ".join(f"{name} {before.get(name)!r} -> {after[name]!r}" for name in after)
        return f"~ {self.entity} {self.key}: {fields}"


@dataclasses.dataclass
class ChangeSet:
    slug: str
    created: bool
    changes: list[Change]
    applied: bool = False

    def __bool__(self) -> bool:
        return bool(self.changes)

    def count(self, op: str) -> int:
        return sum(1 for change in self.changes if change.op == op)

    def summary(self) -> str:
        if not self.changes:
            return f"tenant {self.slug}: no changes"
        head = "created" if self.created else "updated"
        if not self.applied:
            head = "would be " + head
        counts = (
            f"{self.count('add')} added, {self.count('change')} changed, "
            f"{self.count('deactivate')} deactivated"
        )
        return f"tenant {self.slug}: {head}; {counts}"

    def report(self) -> str:
        return "\n".join([self.summary(), *(f"  {c.describe()}" for c in self.changes)])


# ---- what is stored, in the file's terms ------------------------------------------------


@dataclasses.dataclass
class _State:
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


async def _load_state(session: AsyncSession) -> _State:
    rows = {}
    for section, kind in SECTIONS.items():
        found = (await session.scalars(select(kind.model))).all()
        rows[section] = {row.code: row for row in found}
    users = {user.email: user for user in (await session.scalars(select(User))).all()}
    profile = await session.scalar(select(TenantProfile))
    return _State(rows, users, profile)


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


def _changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in after.items() if before.get(name) != value}


# ---- planning ---------------------------------------------------------------------------


@dataclasses.dataclass
class _Plan:
    """The desired view of every item the apply may touch, and the changes it makes."""

    items: dict[str, dict[str, dict[str, Any]]]  # section -> code -> desired view
    users: dict[str, dict[str, Any]]  # email -> desired view
    passwords: dict[str, str]  # email -> initial password of a new user
    profile: dict[str, Any]
    tenant: dict[str, Any]
    changes: list[Change]


def _plan(file: TenantFile, state: _State, tenant: Tenant | None, env: Mapping[str, str]) -> _Plan:
    spec = file.spec
    changes: list[Change] = []
    wanted_tenant = {name: getattr(spec.tenant, name) for name in TENANT_FIELDS}
    if tenant is None:
        changes.append(Change("create", "tenant", spec.tenant.slug, None, wanted_tenant))
    else:
        current = {name: getattr(tenant, name) for name in TENANT_FIELDS}
        if changed := _changed(current, wanted_tenant):
            changes.append(Change("change", "tenant", spec.tenant.slug, current, changed))

    profile = _plan_profile(spec, state, changes)
    items = {section: _plan_section(file, section, state, changes) for section in SECTIONS}
    users, passwords = _plan_users(file, state, env, changes)
    _check_references(file, state)
    return _Plan(items, users, passwords, profile, wanted_tenant, changes)


def _plan_profile(spec: TenantSpec, state: _State, changes: list[Change]) -> dict[str, Any]:
    if spec.profile is None:
        return {}
    wanted = {
        name: msgspec.to_builtins(value)
        for name in PROFILE_FIELDS
        if (value := getattr(spec.profile, name)) is not UNSET
    }
    current = jsonable(profile_snapshot(state.profile) if state.profile else DEFAULT_PROFILE)
    changed = _changed(current, wanted)
    if changed:
        changes.append(
            Change("change", "profile", "", {k: current.get(k) for k in changed}, changed)
        )
    return changed


def _plan_section(
    file: TenantFile, section: str, state: _State, changes: list[Change]
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
        if changed := _changed(current, view):
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
    file: TenantFile, state: _State, env: Mapping[str, str], changes: list[Change]
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
        if changed := _changed(current, view):
            op = "deactivate" if set(changed) == {"active"} and not changed["active"] else "change"
            changes.append(Change(op, "user", email, {k: current[k] for k in changed}, changed))
    return desired, passwords


def _check_references(file: TenantFile, state: _State) -> None:
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


# ---- applying ---------------------------------------------------------------------------


async def apply_tenant_file(
    session: AsyncSession,
    file: TenantFile,
    *,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> ChangeSet:
    """Bring the tenant to `file` in the session's transaction; return what changed.

    Nothing is written when there is nothing to change or `dry_run` is set. A
    `TenantFileError` leaves the transaction to be rolled back by the caller.
    """
    spec = file.spec
    actor = f"tenants-apply:{Path(file.source).name}"
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == spec.tenant.slug))
    if tenant is not None:
        await tenant_scope(session, tenant.id)
        state = await _load_state(session)
    else:
        state = _State({section: {} for section in SECTIONS}, {}, None)
    plan = _plan(file, state, tenant, env or {})
    result = ChangeSet(spec.tenant.slug, tenant is None, plan.changes)
    if dry_run or not plan.changes:
        return result

    if tenant is None:
        tenant = await TenantService(session, actor=actor).create(
            slug=spec.tenant.slug, **plan.tenant
        )
        for section in reversed(SECTIONS):  # defaults of the sections the file defines go
            if getattr(spec, section) is not None:
                await session.execute(delete(SECTIONS[section].model))
        state = await _load_state(session)
    else:
        await _update_tenant(session, tenant, plan.tenant, actor)
    writer = _Writer(session, tenant.id, actor, state)
    await writer.items("departments", plan.items["departments"], defer_manager=True)
    await writer.users(plan.users, plan.passwords)
    await writer.managers(plan.items["departments"])
    for section in ("categories", "severities", "channels", "demand_types"):
        await writer.items(section, plan.items[section])
    if plan.profile:
        await ProfileService(session, actor=actor).update(plan.profile)
    result.applied = True
    return result


async def _update_tenant(
    session: AsyncSession, tenant: Tenant, wanted: dict[str, Any], actor: str
) -> None:
    current = {name: getattr(tenant, name) for name in TENANT_FIELDS}
    changed = _changed(current, wanted)
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


def _parents_first(desired: dict[str, dict[str, Any]]) -> list[str]:
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


class _Writer:
    def __init__(
        self, session: AsyncSession, tenant_id: uuid.UUID, actor: str, state: _State
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
        for code in _parents_first(desired):
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
        for email, view in desired.items():
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
            changed = _changed(current, view)
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
        await record(
            self.session,
            actor=self.actor,
            action="user.update",
            entity_type="user",
            entity_id=user.id,
            before={
                "department_id": str(self.state.rows["departments"][old_code].id)
                if old_code
                else None
            },
            after={"department_id": None},
        )


# ---- export -----------------------------------------------------------------------------


def _without_defaults(view: dict[str, Any], index: int) -> dict[str, Any]:
    out = {name: value for name, value in view.items() if value is not None}
    if out.get("active") is True:
        del out["active"]
    if out.get("position") == index + 1:
        del out["position"]
    if out.get("permissions") == []:
        del out["permissions"]
    return out


def _ordered(rows: Iterable[Any]) -> list[Any]:
    return sorted(rows, key=lambda row: (row.position, row.code))


async def export_tenant(session: AsyncSession, slug: str) -> str:
    """The tenant's configuration as a tenant file (TOML)."""
    tenant = await TenantService(session).by_slug(slug)
    await tenant_scope(session, tenant.id)
    state = await _load_state(session)
    document: dict[str, Any] = {
        "tenant": {"slug": tenant.slug, **{name: getattr(tenant, name) for name in TENANT_FIELDS}},
        "profile": jsonable(profile_snapshot(await ProfileService(session, actor="export").get())),
    }
    for section in ("severities", "departments", "categories", "channels", "demand_types"):
        document[section] = [
            {"code": row.code, **_without_defaults(state.item_view(section, row), index)}
            for index, row in enumerate(_ordered(state.rows[section].values()))
        ]
    document["users"] = [
        {"email": email, **_without_defaults(state.user_view(user), -2)}
        for email, user in sorted(state.users.items())
    ]
    return EXPORT_HEADER + dump_toml(document)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump_toml(document: dict[str, Any]) -> str:
    """TOML the way people write tenant files: `[[categories]]` blocks, one key a line,
    short arrays inline (tomli-w renders each value; its own layout inlines arrays of
    tables, which would leave errors in an exported file without a useful line)."""
    out: list[str] = []

    def table(path: list[str], values: dict[str, Any], array: bool) -> None:
        if path:
            header = ".".join(_key(p) for p in path)
            out.append(f"\n[[{header}]]" if array else f"\n[{header}]")
        nested = []
        for name, value in values.items():
            if isinstance(value, dict) or _is_table_list(value):
                nested.append((name, value))
            else:
                out.append(f"{_key(name)} = {_value(value)}")
        for name, value in nested:
            if isinstance(value, dict):
                table([*path, name], value, False)
            else:
                for item in value:
                    table([*path, name], item, True)

    table([], document, False)
    return "\n".join(out).lstrip("\n") + "\n"
