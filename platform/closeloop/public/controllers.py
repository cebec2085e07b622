"""The public pages: a customer files a case and later looks up its status.

No login: the tenant is named in the path. Filing is rate limited per client address
and tenant (`CLOSELOOP_PUBLIC_INTAKE_PER_MINUTE`, 10 by default; 429 past it). The
answer carries the case number and a random token (only its hash is kept); the status
page needs both and shows the status and the customer-visible timeline. An unknown or
suspended tenant, an unknown number and a wrong token all answer the same 404, so the
page reveals nothing about which part was wrong.
"""

from __future__ import annotations

import hmac
import math
import urllib.parse
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.deps import provide_public_intake
from closeloop.cases.intake import IntakeService, hash_public_token
from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.schemas import (
    CUSTOMER_MESSAGE_KEYS,
    CaseCreate,
    PublicCaseCreate,
    PublicCaseCreated,
    PublicCaseStatus,
    PublicEvent,
    customer_message,
)
from closeloop.cases.views import shown_names
from closeloop.crud import read_as
from closeloop.customers.schemas import CustomerInput
from closeloop.db import tenant_scope
from closeloop.errors import NotFound, TooManyRequests
from closeloop.identity.access import public
from closeloop.providers import AppSettings
from closeloop.public.ratelimit import app_limiter
from closeloop.tenancy.models import Tenant, TenantStatus
from closeloop.web.deps import DbSession

__all__ = ["CUSTOMER_MESSAGE_KEYS", "PublicCaseController"]

PUBLIC_CHANNEL = "web"


async def _tenant(session: AsyncSession, slug: str) -> Tenant:
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == slug))
    if tenant is None or tenant.status != TenantStatus.ACTIVE:
        raise NotFound("no such page")
    await tenant_scope(session, tenant.id)
    return tenant


def _message(event: CaseEvent) -> str | None:
    return customer_message(event.data)


class PublicCaseController(Controller):
    path = "/public/{tenant:str}/cases"
    tags = ("public",)
    opt = public("customers file and follow their own cases by number")
    dependencies = {"public_intake": Provide(provide_public_intake, sync_to_thread=False)}

    @post("/", status_code=201)
    async def file_case(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        settings: AppSettings,
        public_intake: NamedDependency[IntakeService],
        tenant: FromPath[str],
        data: JSONBody[PublicCaseCreate],
    ) -> PublicCaseCreated:
        """File a case from the customer web form; keep the token to see its status."""
        client = request.client.host if request.client else "unknown"
        wait = app_limiter(
            request.app.state, "public_intake_limiter", settings.public_intake_per_minute
        ).hit((tenant, client))
        if wait is not None:
            raise TooManyRequests(
                "too many cases filed from this address; try again in a minute",
                code="rate_limited",
                details={"retry_after_seconds": math.ceil(wait)},
            )
        await _tenant(db_session, tenant)
        contact = {
            "nickname": data.nickname,
            "name": data.name,
            "phone": data.phone,
            "email": data.email,
        }
        customer = CustomerInput(**contact) if any(contact.values()) else None
        intake = CaseCreate(
            kind=data.kind,
            channel=PUBLIC_CHANNEL,
            title=data.title,
            description=data.description,
            customer=customer,
            product=data.product,
            problem_at=data.problem_at,
            problem_place=data.problem_place,
            demands=data.demands,
        )
        result = await public_intake.register(intake, public=True)
        assert result.public_token is not None
        number = result.case.number
        return PublicCaseCreated(
            number=number,
            token=result.public_token,
            status=result.case.status,
            status_url=(
                f"/public/{tenant}/cases/{urllib.parse.quote(number, safe='')}"
                f"?token={result.public_token}"
            ),
        )

    @get("/{number:str}")
    async def case_status(
        self,
        db_session: DbSession,
        tenant: FromPath[str],
        number: FromPath[str],
        token: Annotated[str, QueryParameter(min_length=1, max_length=200)],
    ) -> PublicCaseStatus:
        """A case's status and the updates meant for the customer."""
        await _tenant(db_session, tenant)
        case = await db_session.scalar(select(Case).where(Case.number == number))
        if (
            case is None
            or case.public_token_hash is None
            or not hmac.compare_digest(case.public_token_hash, hash_public_token(token))
        ):
            raise NotFound("no such page")
        events = (
            await db_session.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.visibility == "customer")
                .order_by(CaseEvent.created_at, CaseEvent.id)
            )
        ).all()
        return read_as(
            PublicCaseStatus,
            case,
            **shown_names(case),
            timeline=[
                PublicEvent(type=e.type, at=e.created_at, status=e.to_status, message=_message(e))
                for e in events
            ],
        )
