"""HTTP for customers: exact search, one customer, their data export, erasure of
personal data."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter

from closeloop.customers._export import export_customer
from closeloop.customers.deps import provide_customer_service
from closeloop.customers.schemas import CustomerExport, CustomerRead
from closeloop.customers.service import CustomerService
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.web.deps import Caller

__all__ = ["CustomerController"]

Customers = NamedDependency[CustomerService]


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ("customers",)
    opt = access(*ALL_ROLES)
    dependencies = {"customers": Provide(provide_customer_service, sync_to_thread=False)}

    @get("/")
    async def search_customers(
        self,
        principal: Caller,
        customers: Customers,
        phone: Annotated[str | None, QueryParameter(description="exact number, any format")] = None,
        email: Annotated[str | None, QueryParameter(description="exact address, any case")] = None,
        external_ref: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> list[CustomerRead]:
        """Customers matching every given criterion exactly (none given: the newest);
        PII masked unless the caller holds the `pii` permission (each unmasked read is
        audited)."""
        found = await customers.search(
            phone=phone, email=email, external_ref=external_ref, limit=limit
        )
        return [await customers.view(c) for c in found]

    @get("/{customer_id:uuid}")
    async def get_customer(
        self,
        principal: Caller,
        customers: Customers,
        customer_id: FromPath[uuid.UUID],
    ) -> CustomerRead:
        """One customer; PII masked unless the caller may see it (then the read is audited)."""
        return await customers.view(await customers.get(customer_id))

    @get("/{customer_id:uuid}/export", opt=access(Role.ADMIN, Role.SUPERVISOR))
    async def export_customer(
        self,
        principal: Caller,
        customers: Customers,
        customer_id: FromPath[uuid.UUID],
    ) -> CustomerExport:
        """One customer's own data for an access request: their record, cases, the
        timeline entries meant for them, satisfaction answers and follow-up records.
        Admins and supervisors; PII in clear only with the `pii` permission; audited
        (`customer.export`)."""
        return await export_customer(customers, customer_id)

    @post("/{customer_id:uuid}/erase", status_code=200, opt=access(Role.ADMIN, Role.SUPERVISOR))
    async def erase_customer(
        self,
        principal: Caller,
        customers: Customers,
        customer_id: FromPath[uuid.UUID],
    ) -> CustomerRead:
        """Erase the customer's personal data (name, phone, e-mail, ID number, nickname,
        external ref); the record and its cases remain for statistics. Admins and
        supervisors; repeating it changes nothing."""
        return await customers.view(await customers.erase(customer_id))
