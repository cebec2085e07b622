"""Cases as a caller sees them: the customer masked unless the caller holds `pii`.

Customer data always goes through `CustomerService.view`, which masks it or, for a
caller with the permission, shows it and audits the read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.lifecycle import allowed_actions
from closeloop.cases.models import Case, Customer
from closeloop.cases.schemas import CaseRead, CaseSummary
from closeloop.crud import read_as
from closeloop.customers.deps import provide_customer_service
from closeloop.customers.schemas import CustomerRead
from closeloop.db import bound_tenant
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["case_read", "case_summaries", "etag", "shown_names"]


def shown_names(case: Case) -> dict[str, Any]:
    """The case's columns that its answers show under other names (`read_as`)."""
    return {"category": case.category_code, "severity": case.severity_code, "due": case.due_at}


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
    return read_as(
        CaseRead,
        case,
        **shown_names(case),
        customer=customer,
        product=dict(case.product or {}),
        demands=list(case.demands or []),
        repeat_of=list(case.repeat_of or []),
        extra=dict(case.extra or {}),
        collaborating_department_ids=list(case.collaborating_department_ids or []),
        allowed_actions=allowed_actions(case, principal) if principal is not None else [],
    )


async def case_summaries(
    session: AsyncSession, settings: Settings, principal: Principal | None, cases: Sequence[Case]
) -> list[CaseSummary]:
    customers = await _customers(session, settings, principal, [c.customer_id for c in cases])
    return [
        read_as(
            CaseSummary,
            case,
            **shown_names(case),
            customer=customers.get(case.customer_id) if case.customer_id else None,
        )
        for case in cases
    ]
