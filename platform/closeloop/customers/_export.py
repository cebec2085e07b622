"""One customer's own data, for an access request (PIPL art. 45, GDPR art. 15).

What the customer was told and asked, not the staff's working notes: their record,
their cases (the fields they gave and the outcome), the timeline entries meant for
them (as their status page shows them: no internal notes, no staff names), their
satisfaction answers and the follow-up records. PII is in clear only for a caller with
the `pii` permission, as every other read (DESIGN: masked for roles without it and in
exports); an unmasked read is audited as `customer.pii_read`, and every export as
`customer.export`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.schemas import customer_message
from closeloop.crud import read_as
from closeloop.customers.schemas import (
    CustomerExport,
    ExportedCase,
    ExportedEvent,
    ExportedFollowup,
    ExportedSurvey,
)
from closeloop.customers.service import CustomerService
from closeloop.db import utcnow
from closeloop.followups.models import FollowupTask
from closeloop.surveys.models import Survey

__all__ = ["export_customer"]

_Row = TypeVar("_Row", CaseEvent, Survey, FollowupTask)


async def _by_case(
    session: AsyncSession, model: type[_Row], case_ids: Sequence[uuid.UUID], *where: Any
) -> dict[uuid.UUID, list[_Row]]:
    grouped: dict[uuid.UUID, list[_Row]] = defaultdict(list)
    if not case_ids:
        return grouped
    query = (
        select(model)
        .where(model.case_id.in_(case_ids), *where)
        .order_by(model.created_at, model.id)
    )
    for row in (await session.scalars(query)).all():
        grouped[row.case_id].append(row)
    return grouped


async def export_customer(service: CustomerService, customer_id: uuid.UUID) -> CustomerExport:
    """The customer's data as `service`'s caller may see it; 404 for an id the bound
    tenant does not hold."""
    session = service.session
    customer = await service.get(customer_id)
    view = await service.view(customer)
    cases = (
        await session.scalars(
            select(Case).where(Case.customer_id == customer.id).order_by(Case.received_at, Case.id)
        )
    ).all()
    ids = [case.id for case in cases]
    events = await _by_case(session, CaseEvent, ids, CaseEvent.visibility == "customer")
    surveys = await _by_case(session, Survey, ids)
    followups = await _by_case(session, FollowupTask, ids)
    after = {"cases": len(cases), "masked": view.masked}
    await service.record("customer.export", "customer", customer.id, after=after)
    return CustomerExport(
        customer=view,
        exported_at=utcnow(),
        cases=[
            read_as(
                ExportedCase,
                case,
                category=case.category_code,
                severity=case.severity_code,
                product=case.product or {},
                demands=list(case.demands or []),
                timeline=[
                    read_as(
                        ExportedEvent,
                        e,
                        at=e.created_at,
                        status=e.to_status,
                        message=customer_message(e.data),
                    )
                    for e in events[case.id]
                ],
                surveys=[read_as(ExportedSurvey, s) for s in surveys[case.id]],
                followups=[read_as(ExportedFollowup, f) for f in followups[case.id]],
            )
            for case in cases
        ],
    )
