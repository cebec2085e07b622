"""HTTP for SLAs: `/api/v1/sla-policies` (every staff role reads, admins change) and
`GET /api/v1/cases/{case_id}/sla` (a case's clocks and SLA history)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from closeloop.cases.models import Case
from closeloop.crud import read_as
from closeloop.db import bound_tenant
from closeloop.errors import NotFound
from closeloop.identity.access import ALL_ROLES, access
from closeloop.sla.clocks import ClockService
from closeloop.sla.deps import provide_clock_service, provide_policy_service
from closeloop.sla.models import SlaClock, SlaEscalationLevel, SlaPolicy
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
from closeloop.web.crud import ConfigurationController, given
from closeloop.web.deps import DbSession

__all__ = ["CaseSlaController", "SlaPolicyController", "policy_read"]


def policy_read(row: SlaPolicy, levels: Sequence[SlaEscalationLevel]) -> SlaPolicyRead:
    return read_as(
        SlaPolicyRead,
        row,
        targets={k: msgspec.convert(v, TargetSpec) for k, v in (row.targets or {}).items()},
        levels=[read_as(LevelRead, lv, actions=list(lv.actions)) for lv in levels],
    )


POLICY_DOCS = {
    "list": "The tenant's policies in matching order (the default last).",
    "create": "A new policy; it applies to cases whose clocks start from now on.",
    "update": "Change the fields given; running clocks keep the targets they started with.",
    "delete": "Delete a policy other than the default; its running clocks escalate on the\n"
    "default policy's ladder from then on.",
}


class SlaPolicyController(ConfigurationController):
    """Every staff role reads the policies; admins change them."""

    path, docs = "/api/v1/sla-policies", POLICY_DOCS
    item, provider, deletable = "sla_policy", provide_policy_service, True
    read, create_body, update_body = SlaPolicyRead, SlaPolicyCreate, SlaPolicyUpdate

    async def present(self, service: PolicyService, row: SlaPolicy) -> SlaPolicyRead:
        return policy_read(row, await service.levels(row.id))

    def given(self, data: msgspec.Struct) -> dict[str, Any]:
        values = given(data)
        if isinstance(values.get("targets"), dict):
            values["targets"] = {k: v for k, v in values["targets"].items() if v is not None}
        return values


def _clock_read(clock: SlaClock) -> ClockRead:
    return read_as(ClockRead, clock, fired_levels=len(clock.fired or ()))


class CaseSlaController(Controller):
    path = "/api/v1/cases"
    tags = ("cases",)
    opt = access(*ALL_ROLES)
    dependencies = {"clocks": Provide(provide_clock_service, sync_to_thread=False)}

    @get("/{case_id:uuid}/sla")
    async def case_sla(
        self,
        db_session: DbSession,
        clocks: NamedDependency[ClockService],
        case_id: FromPath[uuid.UUID],
    ) -> CaseSlaRead:
        """The case's SLA clocks of every cycle and every clock event (start, pause with
        its reason, resume, restart, stop, breach, escalation, recompute), oldest first."""
        case = await db_session.get(Case, (bound_tenant(db_session), case_id))
        if case is None:
            raise NotFound("no such case")
        rows = await clocks.clocks(case.id)
        return CaseSlaRead(
            case_id=case.id,
            due_at=case.due_at,
            cycle=max((c.cycle for c in rows), default=1),
            clocks=[_clock_read(c) for c in rows],
            events=[read_as(ClockEventRead, e) for e in await clocks.history(case.id)],
        )
