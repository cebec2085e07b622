"""Cases as a caller sees them: the customer masked unless the caller holds `pii`.

Customer data always goes through `CustomerService.view`, which masks it or, for a
caller with the permission, shows it and audits the read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import allowed_actions
from closeloop.cases.models import Case, Customer
from closeloop.cases.schemas import CaseRead, CaseSummary
from closeloop.customers.deps import provide_customer_service
from closeloop.customers.schemas import CustomerRead
from closeloop.db import bound_tenant
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["case_read", "case_summaries", "etag"]


def etag(case: Case) -> str:
    """The case's ETag: its version, quoted (`If-Match` takes it back)."""
    return f'"{case.version}"'


async def _customers(
    session: AsyncSession,
    settings: Settings,
    principal: Principal | None,
    ids: Sequence[uuid.UUID | None],
) -> dict[uuid.UUID, CustomerRead]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = (await session.scalars(select(Customer).where(Customer.id.in_(wanted)))).all()
    service = provide_customer_service(session, principal, settings)
    return {row.id: await service.view(row) for row in rows}


async def case_read(
    session: AsyncSession, settings: Settings, principal: Principal | None, case: Case
) -> CaseRead:
    customer = None
    if case.customer_id is not None:
        tenant_id = bound_tenant(session)
        row = await session.get(Customer, (tenant_id, case.customer_id))
        if row is not None:
            customer = await provide_customer_service(session, principal, settings).view(row)
    return CaseRead(
        id=case.id,
        number=case.number,
        kind=case.kind,
        status=case.status,
        channel=case.channel,
        received_at=case.received_at,
        title=case.title,
        description=case.description,
        customer=customer,
        product=dict(case.product or {}),
        problem_at=case.problem_at,
        problem_place=case.problem_place,
        demands=list(case.demands or []),
        category_id=case.category_id,
        category=case.category_code,
        severity_id=case.severity_id,
        severity=case.severity_code,
        severity_rank=case.severity_rank,
        escalation_level=case.escalation_level,
        due=case.due_at,
        is_repeat=case.is_repeat,
        repeat_of=list(case.repeat_of or []),
        extra=dict(case.extra or {}),
        registrar_id=case.registrar_id,
        registrar_api_key_id=case.registrar_api_key_id,
        lead_department_id=case.lead_department_id,
        collaborating_department_ids=list(case.collaborating_department_ids or []),
        handler_id=case.handler_id,
        deadline=case.deadline,
        resolution=case.resolution,
        first_satisfaction=case.first_satisfaction,
        followup_outcome=case.followup_outcome,
        version=case.version,
        created_at=case.created_at,
        updated_at=case.updated_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        archived_at=case.archived_at,
        merged_into_id=case.merged_into_id,
        allowed_actions=allowed_actions(case, principal) if principal is not None else [],
    )


async def case_summaries(
    session: AsyncSession, settings: Settings, principal: Principal | None, cases: Sequence[Case]
) -> list[CaseSummary]:
    customers = await _customers(session, settings, principal, [c.customer_id for c in cases])
    return [
        CaseSummary(
            id=case.id,
            number=case.number,
            kind=case.kind,
            status=case.status,
            channel=case.channel,
            received_at=case.received_at,
            title=case.title,
            customer=customers.get(case.customer_id) if case.customer_id else None,
            category_id=case.category_id,
            category=case.category_code,
            severity=case.severity_code,
            severity_rank=case.severity_rank,
            escalation_level=case.escalation_level,
            lead_department_id=case.lead_department_id,
            handler_id=case.handler_id,
            due=case.due_at,
            is_repeat=case.is_repeat,
            version=case.version,
        )
        for case in cases
    ]
