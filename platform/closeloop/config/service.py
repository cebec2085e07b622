"""Tenant configuration rules: the lists cases are classified with, and the tenant profile.

Five lists share one shape (code, zh/en names, active, position) and differ in a few
fields: categories and departments form trees, categories point at a default
department, departments at a manager, severities carry a unique rank. Items are
deactivated, never deleted, because cases refer to them. Every write records an
audit entry in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import diff, record
from closeloop.config.defaults import default_profile
from closeloop.config.models import (
    CASE_KINDS,
    Category,
    Channel,
    DemandType,
    Department,
    Severity,
    TenantProfile,
)
from closeloop.config.patterns import PatternError, validate_pattern
from closeloop.crud import AuditedService
from closeloop.db import new_id
from closeloop.errors import Conflict, UnprocessableEntity
from closeloop.identity.models import User

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "DEMAND_TYPES",
    "DEPARTMENTS",
    "ITEM_SERVICES",
    "KINDS",
    "PII_MODES",
    "PROFILE_FIELDS",
    "SEVERITIES",
    "CategoryService",
    "ChannelService",
    "DemandTypeService",
    "DepartmentService",
    "ItemKind",
    "ItemService",
    "ProfileService",
    "SeverityService",
    "check_profile",
    "profile_snapshot",
    "record_item",
    "snapshot",
]

COMMON_FIELDS = ("code", "name_zh", "name_en", "active", "position")
PII_MODES = ("normal", "none")
PROFILE_FIELDS = (
    "number_patterns",
    "satisfaction_scale",
    "followup_script",
    "followup_window_days",
    "repeat_window_days",
    "pii_mode",
)
MAX_FOLLOWUP_DAYS = 60


@dataclasses.dataclass(frozen=True, slots=True)
class ItemKind:
    """One configurable list: its table, audit entity name, label and extra fields."""

    model: type[Any]
    entity: str
    label: str
    extra: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return (*COMMON_FIELDS, *self.extra)

    @property
    def is_tree(self) -> bool:
        return "parent_id" in self.extra


CATEGORIES = ItemKind(
    Category, "category", "category", ("parent_id", "case_kind", "default_department_id")
)
SEVERITIES = ItemKind(Severity, "severity", "severity level", ("rank",))
DEPARTMENTS = ItemKind(Department, "department", "department", ("parent_id", "manager_id"))
CHANNELS = ItemKind(Channel, "channel", "channel")
DEMAND_TYPES = ItemKind(DemandType, "demand_type", "demand type")
KINDS = {
    kind.entity: kind for kind in (CATEGORIES, SEVERITIES, DEPARTMENTS, CHANNELS, DEMAND_TYPES)
}


def snapshot(kind: ItemKind, row: Any) -> dict[str, Any]:
    return {name: getattr(row, name) for name in kind.fields}


def _invalid(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, field=field)


class ItemService(AuditedService[Any]):
    """List, create, read and change the items of one `ItemKind` (the subclass's `kind`)
    in the bound tenant. Nothing is deleted: `active` false retires an item."""

    kind: ClassVar[ItemKind]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.model, cls.entity, cls.label = cls.kind.model, cls.kind.entity, cls.kind.label

    def ordering(self) -> tuple[Any, ...]:
        return (self.model.position, self.model.code)

    async def snapshot(self, row: Any) -> dict[str, Any]:
        return snapshot(self.kind, row)

    async def list(self, *, active: bool | None = None) -> Sequence[Any]:
        query = select(self.model).order_by(*self.ordering())
        if active is not None:
            query = query.where(self.model.active == active)
        return (await self.session.scalars(query)).all()

    async def create(self, values: dict[str, Any]) -> Any:
        kind = self.kind
        values = _fill_names(dict(values))
        if await self.session.scalar(
            select(kind.model.id).where(kind.model.code == values["code"])
        ):
            raise Conflict(
                f"a {kind.label} with code {values['code']!r} exists already",
                field="code",
            )
        await self._check(kind, None, values)
        row = kind.model(tenant_id=self.tenant(), id=new_id(), **values)
        await self.insert(row, lambda exc: _conflict(kind, exc, values))
        await record_item(self.session, self.actor, kind, row, None)
        return row

    async def update(self, item_id: uuid.UUID, changes: dict[str, Any]) -> Any:
        kind = self.kind
        row = await self.get(item_id)
        changes = {k: v for k, v in changes.items() if k in kind.fields and k != "code"}
        before = snapshot(kind, row)
        if all(before[name] == value for name, value in changes.items()):
            return row
        await self._check(kind, row, {**before, **changes})
        for name, value in changes.items():
            setattr(row, name, value)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:
            raise _conflict(kind, exc, changes) from None
        await record_item(self.session, self.actor, kind, row, before)
        return row

    async def _check(self, kind: ItemKind, row: Any | None, values: dict[str, Any]) -> None:
        """The rules beyond the body's shape; `values` is the item as it would be stored."""
        tenant_id = self.tenant()
        parent_id = values.get("parent_id")
        if parent_id is not None:
            if await self.session.get(kind.model, (tenant_id, parent_id)) is None:
                raise _invalid("parent_id", f"parent_id: no such {kind.label} in this tenant")
            if row is not None and await self._is_descendant(kind, parent_id, row.id):
                raise _invalid(
                    "parent_id",
                    f"parent_id: a {kind.label} cannot be placed under itself or its own children",
                )
        department_id = values.get("default_department_id")
        if (
            department_id is not None
            and await self.session.get(Department, (tenant_id, department_id)) is None
        ):
            raise _invalid(
                "default_department_id", "default_department_id: no such department in this tenant"
            )
        manager_id = values.get("manager_id")
        if manager_id is not None and await self.session.get(User, (tenant_id, manager_id)) is None:
            raise _invalid("manager_id", "manager_id: the manager must be a user of this tenant")
        case_kind = values.get("case_kind")
        if case_kind is not None and case_kind not in CASE_KINDS:
            raise _invalid("case_kind", f"case_kind must be one of {', '.join(CASE_KINDS)}")
        if kind is SEVERITIES:
            await self._check_severity(row, values)

    async def _check_severity(self, row: Any | None, values: dict[str, Any]) -> None:
        clash = select(Severity.code).where(Severity.rank == values["rank"])
        if row is not None:
            clash = clash.where(Severity.id != row.id)
        holder = await self.session.scalar(clash)
        if holder is not None:
            raise Conflict(
                f"rank {values['rank']} belongs to severity level {holder!r} already; "
                "ranks are unique",
                field="rank",
            )
        if row is not None and row.active and not values["active"]:
            others = await self.session.scalar(
                select(func.count())
                .select_from(Severity)
                .where(Severity.active, Severity.id != row.id)
            )
            if not others:
                raise _invalid("active", "the last active severity level cannot be deactivated")

    async def _is_descendant(
        self, kind: ItemKind, node_id: uuid.UUID, ancestor_id: uuid.UUID
    ) -> bool:
        """Whether `node_id` is `ancestor_id` or lies below it (walks up from the node)."""
        seen: set[uuid.UUID] = set()
        current: uuid.UUID | None = node_id
        while current is not None and current not in seen:
            if current == ancestor_id:
                return True
            seen.add(current)
            current = await self.session.scalar(
                select(kind.model.parent_id).where(kind.model.id == current)
            )
        return False


class CategoryService(ItemService):
    kind = CATEGORIES


class SeverityService(ItemService):
    kind = SEVERITIES


class DepartmentService(ItemService):
    kind = DEPARTMENTS


class ChannelService(ItemService):
    kind = CHANNELS


class DemandTypeService(ItemService):
    kind = DEMAND_TYPES


ITEM_SERVICES: dict[ItemKind, type[ItemService]] = {
    service.kind: service
    for service in (
        CategoryService,
        SeverityService,
        DepartmentService,
        ChannelService,
        DemandTypeService,
    )
}


def _fill_names(values: dict[str, Any]) -> dict[str, Any]:
    if not values.get("name_zh") and not values.get("name_en"):
        raise _invalid("name_zh", "give name_zh or name_en (or both)")
    values["name_zh"] = values.get("name_zh") or values["name_en"]
    values["name_en"] = values.get("name_en") or values["name_zh"]
    return values


def _conflict(kind: ItemKind, exc: IntegrityError, values: dict[str, Any]) -> Conflict:
    """A unique violation that a concurrent request won the race for."""
    if "rank" in str(exc.orig):
        return Conflict(f"rank {values.get('rank')} is taken", field="rank")
    return Conflict(f"a {kind.label} with code {values.get('code')!r} exists already", field="code")


async def record_item(
    session: AsyncSession, actor: str, kind: ItemKind, row: Any, before: dict[str, Any] | None
) -> None:
    """Audit a created item (`before` None) or a change from `before` (a `snapshot`).
    Actions: `category.create`, `category.update`, `category.deactivate`, `category.activate`."""
    if before is None:
        action, old, new = "create", None, snapshot(kind, row)
    else:
        old, new = diff(before, snapshot(kind, row))
        if not new:
            return
        action = (
            ("activate" if new["active"] else "deactivate") if set(new) == {"active"} else "update"
        )
    await record(
        session,
        actor=actor,
        action=f"{kind.entity}.{action}",
        entity_type=kind.entity,
        entity_id=row.id,
        before=old,
        after=new,
    )


# ---- the tenant profile ----------------------------------------------------------------


def profile_snapshot(profile: TenantProfile) -> dict[str, Any]:
    return {name: getattr(profile, name) for name in PROFILE_FIELDS}


def check_profile(values: dict[str, Any]) -> None:
    """Refuse a profile value that cannot work, naming the field (`number_patterns.complaint`)."""
    if "number_patterns" in values:
        _check_patterns(values["number_patterns"])
    if "satisfaction_scale" in values:
        _check_scale(values["satisfaction_scale"])
    if "followup_script" in values:
        steps = [step["step"] for step in values["followup_script"]]
        if not steps:
            raise _invalid("followup_script", "the follow-up script needs at least one step")
        _check_unique("followup_script", "step", steps)
    if "followup_window_days" in values:
        window = values["followup_window_days"]
        if (
            len(window) != 2
            or not all(isinstance(d, int) and 0 <= d <= MAX_FOLLOWUP_DAYS for d in window)
            or window[0] > window[1]
        ):
            raise _invalid(
                "followup_window_days",
                "followup_window_days is [earliest, latest] working days, "
                f"0 to {MAX_FOLLOWUP_DAYS}, earliest first",
            )
    if "repeat_window_days" in values and not 1 <= values["repeat_window_days"] <= 3650:
        raise _invalid("repeat_window_days", "repeat_window_days must be between 1 and 3650")
    if "pii_mode" in values and values["pii_mode"] not in PII_MODES:
        raise _invalid("pii_mode", f"pii_mode must be one of {', '.join(PII_MODES)}")


def _check_patterns(patterns: dict[str, str]) -> None:
    allowed = ("default", *CASE_KINDS)
    if "default" not in patterns:
        raise _invalid("number_patterns.default", "number_patterns needs a 'default' pattern")
    for key, pattern in patterns.items():
        if key not in allowed:
            raise _invalid(
                f"number_patterns.{key}",
                f"number_patterns: {key!r} is not a case kind; keys are {', '.join(allowed)}",
            )
        try:
            validate_pattern(pattern)
        except PatternError as exc:
            raise _invalid(f"number_patterns.{key}", f"number_patterns.{key}: {exc}") from None


def _check_scale(levels: list[dict[str, Any]]) -> None:
    if len(levels) < 2:
        raise _invalid("satisfaction_scale", "the satisfaction scale needs at least two answers")
    _check_unique("satisfaction_scale", "code", [level["code"] for level in levels])
    verdicts = {bool(level["satisfied"]) for level in levels}
    if verdicts != {True, False}:
        raise _invalid(
            "satisfaction_scale",
            "the satisfaction scale needs at least one answer with satisfied = true "
            "and one with false",
        )


def _check_unique(field: str, key: str, values: list[str]) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise _invalid(f"{field}[{index}].{key}", f"{field}: {key} {value!r} appears twice")
        seen.add(value)


class ProfileService(AuditedService[TenantProfile]):
    """The tenant's single-valued settings (one row per tenant)."""

    model, entity, label, actions = TenantProfile, "tenant_profile", "profile", "profile"

    async def snapshot(self, row: TenantProfile) -> dict[str, Any]:
        return profile_snapshot(row)

    async def get(self) -> TenantProfile:  # type: ignore[override]
        profile = await self.session.scalar(select(TenantProfile))
        if profile is None:  # a tenant created before profiles were seeded
            profile = default_profile(self.tenant())
            self.session.add(profile)
            await self.session.flush()
        return profile

    async def update(self, changes: dict[str, Any]) -> TenantProfile:
        check_profile(changes)
        profile = await self.get()
        before = profile_snapshot(profile)
        for name, value in changes.items():
            setattr(profile, name, value)
        await self.audit_update(profile, before)
        return profile
