"""SLA policies: stored, checked, audited, matched to cases; the default ones seeded.

* Matching: active policies in `position` order (then code); the first whose match
  fields all fit the case wins; the default policy (one per tenant, matching anything)
  comes last whatever its position. A tenant always has its default: it cannot be
  deleted, retired or un-defaulted, only replaced by making another policy the default.
* A change applies to cases whose clocks start afterwards: clocks copy their target.
  The ladder is read when a clock is checked, so a ladder change reaches running
  clocks; a level that already fired (same target, trigger and threshold) does not
  fire again.
* Every refusal is a 422 naming the field (`targets.followup.earliest_days`,
  `levels[2].role`, `match_severity`, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable
from closeloop.config import current
from closeloop.config.models import Category, Channel, Severity
from closeloop.crud import AuditedService
from closeloop.db import new_id
from closeloop.errors import Conflict, UnprocessableEntity
from closeloop.sla.calendar_models import Calendar
from closeloop.sla.calendar_service import clear_default_flag
from closeloop.sla.defaults import default_policies
from closeloop.sla.models import SlaEscalationLevel, SlaPolicy
from closeloop.sla.timing import TARGETS

current.watch(SlaPolicy, SlaEscalationLevel)

__all__ = [
    "MATCH_FIELDS",
    "POLICY_FIELDS",
    "PolicyService",
    "ladders",
    "level_key",
    "match_policy",
    "policies",
    "seed_default_policies",
]

MATCH_FIELDS = ("match_kind", "match_severity", "match_category", "match_channel")
POLICY_FIELDS = (
    "code", "name", "position", "active", "is_default", *MATCH_FIELDS, "calendar_id", "targets",
)  # fmt: skip
LEVEL_FIELDS = ("target", "trigger", "threshold", "actions", "role", "severity_code")


def level_key(policy_id: uuid.UUID | None, level: SlaEscalationLevel | dict[str, Any]) -> str:
    """A level's identity in a clock's `fired` list: policy, target, trigger, threshold.
    Stable when a ladder is saved again, so saving never re-fires a level."""
    get = level.get if isinstance(level, dict) else lambda name: getattr(level, name)
    return f"{policy_id}:{get('target')}:{get('trigger')}:{get('threshold')}"


def _invalid(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(f"{field}: {message}", field=field)


def snapshot(policy: SlaPolicy, levels: Sequence[SlaEscalationLevel]) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(policy, name) for name in POLICY_FIELDS}
    values["levels"] = [{name: getattr(lv, name) for name in LEVEL_FIELDS} for lv in levels]
    result: dict[str, Any] = jsonable(values)
    return result


async def match_policy(session: AsyncSession, case: Any) -> SlaPolicy | None:
    """The policy of a case: first active match in order, else the default."""

    def fits(policy: SlaPolicy) -> bool:
        return all(
            wanted is None or wanted == actual
            for wanted, actual in (
                (policy.match_kind, case.kind),
                (policy.match_severity, case.severity_code),
                (policy.match_category, case.category_code),
                (policy.match_channel, case.channel),
            )
        )

    candidates = [p for p in await policies(session) if p.is_default or (p.active and fits(p))]
    candidates.sort(key=lambda p: (p.is_default, p.position, p.code))
    return candidates[0] if candidates else None


async def policies(session: AsyncSession) -> list[SlaPolicy]:
    """The bound tenant's policies (cached per process by `closeloop.config.current`)."""

    async def load() -> list[SlaPolicy]:
        return list((await session.scalars(select(SlaPolicy))).all())

    return await current.shared(session, "sla_policies", load)


async def ladders(
    session: AsyncSession, policy_id: uuid.UUID | None
) -> dict[str, list[SlaEscalationLevel]]:
    """Every target's levels of `policy_id`, in order, in one read (the default policy's
    when `policy_id` is gone)."""
    known = await policies(session)
    if policy_id is None or not any(p.id == policy_id for p in known):
        policy_id = next((p.id for p in known if p.is_default), None)
        if policy_id is None:
            return {}

    async def load() -> dict[str, list[SlaEscalationLevel]]:
        query = (
            select(SlaEscalationLevel)
            .where(SlaEscalationLevel.policy_id == policy_id)
            .order_by(SlaEscalationLevel.position, SlaEscalationLevel.threshold)
        )
        found: dict[str, list[SlaEscalationLevel]] = {}
        for level in (await session.scalars(query)).all():
            found.setdefault(level.target, []).append(level)
        return found

    return await current.shared(session, ("sla_ladders", policy_id), load)


class PolicyService(AuditedService[SlaPolicy]):
    """List, create, read, change and delete the bound tenant's SLA policies."""

    model, entity, label = SlaPolicy, "sla_policy", "SLA policy"

    def ordering(self) -> tuple[Any, ...]:
        return (SlaPolicy.is_default, SlaPolicy.position, SlaPolicy.code)

    async def snapshot(self, row: SlaPolicy) -> dict[str, Any]:
        return snapshot(row, await self.levels(row.id))

    async def levels(self, policy_id: uuid.UUID) -> list[SlaEscalationLevel]:
        query = (
            select(SlaEscalationLevel)
            .where(SlaEscalationLevel.policy_id == policy_id)
            .order_by(SlaEscalationLevel.position)
        )
        return list((await self.session.scalars(query)).all())

    async def create(self, values: dict[str, Any], *, audit: bool = True) -> SlaPolicy:
        values = dict(values)
        levels = values.pop("levels", None) or []
        if await self.session.scalar(select(SlaPolicy.id).where(SlaPolicy.code == values["code"])):
            raise Conflict(
                f"an SLA policy with code {values['code']!r} exists already",
                field="code",
            )
        values["is_default"] = bool(values.get("is_default"))
        await self._check(values, levels)
        if values["is_default"]:
            await self._take_default_from_others()
        row = SlaPolicy(tenant_id=self.tenant(), id=new_id(), **_columns(values))
        await self.insert(row, lambda _: _raced())
        await self._replace_levels(row, levels)
        if audit:
            await self.audit_create(row)
        return row

    async def update(self, policy_id: uuid.UUID, changes: dict[str, Any]) -> SlaPolicy:
        row = await self.get(policy_id)
        old_levels = await self.levels(row.id)
        before = snapshot(row, old_levels)
        if row.is_default and (
            changes.get("is_default") is False or changes.get("active") is False
        ):
            field = "is_default" if changes.get("is_default") is False else "active"
            raise _invalid(
                field,
                "a tenant always has a default SLA policy; make another policy the default instead",
            )
        wanted = {**{k: getattr(row, k) for k in POLICY_FIELDS}, **changes}
        wanted.pop("levels", None)
        levels = changes.get("levels")
        level_values = (
            levels
            if levels is not None
            else [{name: getattr(lv, name) for name in LEVEL_FIELDS} for lv in old_levels]
        )
        await self._check(wanted, level_values)
        if changes.get("is_default") and not row.is_default:
            await self._take_default_from_others()
        for name, value in _columns(wanted).items():
            if name != "code":
                setattr(row, name, value)
        if levels is not None:
            await self._replace_levels(row, levels)
        await self.audit_update(row, before)
        return row

    # ---- checks ---------------------------------------------------------------------------

    async def _check(self, values: dict[str, Any], levels: list[dict[str, Any]]) -> None:
        if values.get("is_default"):
            for name in MATCH_FIELDS:
                if values.get(name) is not None:
                    raise _invalid(name, "the default policy matches every case; leave it null")
        for name, model in (
            ("match_severity", Severity),
            ("match_category", Category),
            ("match_channel", Channel),
        ):
            code = values.get(name)
            if code is not None and not await self._exists(model, code):
                raise _invalid(name, f"no {model.__tablename__[:-1]} with code {code!r}")
        calendar_id = values.get("calendar_id")
        if calendar_id is not None and (
            await self.session.get(Calendar, (self.tenant(), uuid.UUID(str(calendar_id)))) is None
        ):
            raise _invalid("calendar_id", "no such calendar")
        _check_targets(values.get("targets") or {})
        seen: set[tuple[Any, ...]] = set()
        for index, level in enumerate(levels):
            where = f"levels[{index}]"
            await self._check_level(where, level)
            key = (level["target"], level["trigger"], level.get("threshold") or 0)
            if key in seen:
                raise _invalid(where, "the same target and trigger appear twice; merge them")
            seen.add(key)

    async def _check_level(self, where: str, level: dict[str, Any]) -> None:
        trigger, threshold = level["trigger"], int(level.get("threshold") or 0)
        if trigger == "percent" and not 1 <= threshold <= 99:
            raise _invalid(f"{where}.threshold", "a percent trigger takes 1 to 99")
        if trigger == "breach" and threshold != 0:
            raise _invalid(f"{where}.threshold", "a breach trigger takes no threshold (0)")
        if trigger in ("after_breach", "age") and threshold < 1:
            raise _invalid(f"{where}.threshold", f"{trigger} takes a number of hours (1 or more)")
        actions = list(level["actions"])
        if len(set(actions)) != len(actions):
            raise _invalid(f"{where}.actions", "an action is named twice")
        if "notify_role" in actions and not level.get("role"):
            raise _invalid(f"{where}.role", "notify_role needs the role to notify")
        if level.get("role") and "notify_role" not in actions:
            raise _invalid(f"{where}.role", "a role is only used by notify_role")
        code = level.get("severity_code")
        if code is not None:
            if "raise_severity" not in actions:
                raise _invalid(f"{where}.severity_code", "only used by raise_severity")
            if not await self._exists(Severity, code):
                raise _invalid(f"{where}.severity_code", f"no severity with code {code!r}")

    async def _exists(self, model: type[Any], code: str) -> bool:
        found = await self.session.scalar(select(model.id).where(model.code == code).limit(1))
        return found is not None

    async def _replace_levels(
        self, row: SlaPolicy, levels: list[dict[str, Any]]
    ) -> list[SlaEscalationLevel]:
        await self.session.execute(
            delete(SlaEscalationLevel).where(SlaEscalationLevel.policy_id == row.id)
        )
        saved = [
            SlaEscalationLevel(
                tenant_id=row.tenant_id,
                id=new_id(),
                policy_id=row.id,
                position=index,
                target=level["target"],
                trigger=level["trigger"],
                threshold=int(level.get("threshold") or 0),
                actions=list(level["actions"]),
                role=level.get("role"),
                severity_code=level.get("severity_code"),
            )
            for index, level in enumerate(levels)
        ]
        self.session.add_all(saved)
        await self.session.flush()
        return saved

    async def _take_default_from_others(self) -> None:
        await clear_default_flag(
            self.session, SlaPolicy, actor=self.actor, entity_type="sla_policy"
        )


def _raced() -> Conflict:
    return Conflict(
        "another request changed the SLA policies at the same time; try again", field="code"
    )


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    columns = {name: values.get(name) for name in POLICY_FIELDS if name in values}
    if columns.get("calendar_id") is not None:
        columns["calendar_id"] = uuid.UUID(str(columns["calendar_id"]))
    columns["targets"] = jsonable(columns.get("targets") or {})
    columns.setdefault("position", 0)
    columns.setdefault("active", True)
    return columns


def _check_targets(targets: dict[str, Any]) -> None:
    for name, spec in targets.items():
        where = f"targets.{name}"
        if name not in TARGETS:
            raise _invalid(where, f"targets are {', '.join(TARGETS)}")
        if spec is None:
            continue
        unit = spec.get("unit")
        if unit == "working_days":
            if spec.get("days") is None:
                raise _invalid(f"{where}.days", "a working_days target needs days")
            if spec.get("hours") is not None:
                raise _invalid(f"{where}.hours", "a working_days target counts days, not hours")
            earliest = spec.get("earliest_days")
            if earliest is not None and earliest > spec["days"]:
                raise _invalid(f"{where}.earliest_days", "the window opens after it closes")
        elif unit in ("calendar", "business"):
            if spec.get("hours") is None:
                raise _invalid(f"{where}.hours", f"a {unit} target needs hours")
            if spec.get("days") is not None:
                raise _invalid(f"{where}.days", f"a {unit} target counts hours, not days")
            if spec.get("earliest_days") is not None:
                raise _invalid(f"{where}.earliest_days", "only a working_days window opens later")
        else:
            raise _invalid(f"{where}.unit", "units are calendar, business and working_days")


async def seed_default_policies(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """Give a tenant with no SLA policy the defaults (DESIGN §1). The session must be
    bound to `tenant_id`. A default that names a severity the tenant lacks is kept
    without that match or level, so seeding never fails."""
    if await session.scalar(select(func.count()).select_from(SlaPolicy)):
        return
    service = PolicyService(session, actor="system")
    severities = set((await session.scalars(select(Severity.code))).all())
    for policy in default_policies():
        if policy.get("match_severity") and policy["match_severity"] not in severities:
            continue
        policy["levels"] = [
            level
            for level in policy["levels"]
            if level.get("severity_code") is None or level["severity_code"] in severities
        ]
        await service.create(policy, audit=False)
