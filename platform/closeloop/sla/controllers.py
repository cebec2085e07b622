"""HTTP for SLAs: `/api/v1/sla-policies` (every staff role reads, admins change) and
`GET /api/v1/cases/{case_id}/sla` (a case's clocks and SLA history)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from closeloop.cases.models import Case
from closeloop.db import bound_tenant
from closeloop.errors import NotFound
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal
from closeloop.sla.clocks import ClockService
from closeloop.sla.models import SlaClock, SlaClockEvent, SlaEscalationLevel, SlaPolicy
from closeloop.sla.policies import PolicyService
from closeloop.sla.policy_schemas import (
    CaseSlaRead,
    ClockEventRead,
    ClockRead,
    LevelRead,
    SlaPolicyCreate,
    SlaPolicyRead,
    SlaPolicyUpdate,
    TargetSpec,
)
from closeloop.web.deps import Caller, DbSession

__all__ = ["CaseSlaController", "SlaPolicyController", "policy_read"]


def _service(session: Any, principal: Principal) -> PolicyService:
    return PolicyService(session, actor=principal.actor)


def _given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a body sets, as plain values (targets and levels as dicts)."""
    given: dict[str, Any] = {}
    for name in data.__struct_fields__:
        value = getattr(data, name)
        if value is msgspec.UNSET:
            continue
        given[name] = msgspec.to_builtins(value) if name in ("targets", "levels") else value
    if isinstance(given.get("targets"), dict):
        given["targets"] = {k: v for k, v in given["targets"].items() if v is not None}
    return given


def policy_read(row: SlaPolicy, levels: Sequence[SlaEscalationLevel]) -> SlaPolicyRead:
    return SlaPolicyRead(
        id=row.id,
        code=row.code,
        name=row.name,
        position=row.position,
        active=row.active,
        is_default=row.is_default,
        match_kind=row.match_kind,
        match_severity=row.match_severity,
        match_category=row.match_category,
        match_channel=row.match_channel,
        calendar_id=row.calendar_id,
        targets={k: msgspec.convert(v, TargetSpec) for k, v in (row.targets or {}).items()},
        levels=[
            LevelRead(
                id=lv.id,
                position=lv.position,
                target=lv.target,
                trigger=lv.trigger,
                threshold=lv.threshold,
                actions=list(lv.actions),
                role=lv.role,
                severity_code=lv.severity_code,
            )
            for lv in levels
        ],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SlaPolicyController(Controller):
    path = "/api/v1/sla-policies"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_sla_policies(
        self, db_session: DbSession, principal: Caller
    ) -> list[SlaPolicyRead]:
        """The tenant's policies in matching order (the default last)."""
        service = _service(db_session, principal)
        levels = await service.levels_by_policy()
        return [policy_read(row, levels.get(row.id, [])) for row in await service.ordered()]

    @post("/", opt=access(Role.ADMIN))
    async def create_sla_policy(
        self, db_session: DbSession, principal: Caller, data: JSONBody[SlaPolicyCreate]
    ) -> SlaPolicyRead:
        """A new policy; it applies to cases whose clocks start from now on."""
        service = _service(db_session, principal)
        row = await service.create(_given(data))
        return policy_read(row, await service.levels(row.id))

    @get("/{sla_policy_id:uuid}")
    async def get_sla_policy(
        self, db_session: DbSession, principal: Caller, sla_policy_id: FromPath[uuid.UUID]
    ) -> SlaPolicyRead:
        service = _service(db_session, principal)
        row = await service.get(sla_policy_id)
        return policy_read(row, await service.levels(row.id))

    @patch("/{sla_policy_id:uuid}", opt=access(Role.ADMIN))
    async def update_sla_policy(
        self,
        db_session: DbSession,
        principal: Caller,
        sla_policy_id: FromPath[uuid.UUID],
        data: JSONBody[SlaPolicyUpdate],
    ) -> SlaPolicyRead:
        """Change the fields given; running clocks keep the targets they started with."""
        service = _service(db_session, principal)
        row = await service.update(sla_policy_id, _given(data))
        return policy_read(row, await service.levels(row.id))

    @delete("/{sla_policy_id:uuid}", opt=access(Role.ADMIN))
    async def delete_sla_policy(
        self, db_session: DbSession, principal: Caller, sla_policy_id: FromPath[uuid.UUID]
    ) -> None:
        """Delete a policy other than the default; its running clocks escalate on the
        default policy's ladder from then on."""
        await _service(db_session, principal).delete(sla_policy_id)


def _clock_read(clock: SlaClock) -> ClockRead:
    return ClockRead(
        id=clock.id,
        cycle=clock.cycle,
        target=clock.target,
        state=clock.state,
        policy_id=clock.policy_id,
        unit=clock.unit,
        spec=clock.spec,
        period=clock.period,
        started_at=clock.started_at,
        opens_at=clock.opens_at,
        due_at=clock.due_at,
        paused_at=clock.paused_at,
        paused_seconds=clock.paused_seconds,
        stopped_at=clock.stopped_at,
        breached_at=clock.breached_at,
        next_check_at=clock.next_check_at,
        fired_levels=len(clock.fired or ()),
    )


def _event_read(event: SlaClockEvent) -> ClockEventRead:
    return ClockEventRead(
        id=event.id,
        clock_id=event.clock_id,
        cycle=event.cycle,
        target=event.target,
        type=event.type,
        at=event.at,
        actor=event.actor,
        reason=event.reason,
        data=event.data,
    )


class CaseSlaController(Controller):
    path = "/api/v1/cases"
    tags = ("cases",)
    opt = access(*ALL_ROLES)

    @get("/{case_id:uuid}/sla")
    async def case_sla(
        self, db_session: DbSession, principal: Caller, case_id: FromPath[uuid.UUID]
    ) -> CaseSlaRead:
        """The case's SLA clocks of every cycle and every clock event (start, pause with
        its reason, resume, restart, stop, breach, escalation, recompute), oldest first."""
        case = await db_session.get(Case, (bound_tenant(db_session), case_id))
        if case is None:
            raise NotFound("no such case")
        clocks = ClockService(db_session, actor=principal.actor)
        rows = await clocks.clocks(case.id)
        return CaseSlaRead(
            case_id=case.id,
            due_at=case.due_at,
            cycle=max((c.cycle for c in rows), default=1),
            clocks=[_clock_read(c) for c in rows],
            events=[_event_read(e) for e in await clocks.history(case.id)],
        )
