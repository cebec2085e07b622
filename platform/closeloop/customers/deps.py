"""How to get the customer service: `provide_customer_service`, the only way to build one.

`CustomerService(session, *, principal=..., settings=...)`; the provider is a Litestar
dependency (parameters `db_session`, `principal`, `settings`) and a plain function that
intake, actors and the CLI call with their own session, principal and settings.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.customers.service import CustomerService
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = ["provide_customer_service"]


def provide_customer_service(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal | None],
    settings: NamedDependency[Settings],
) -> CustomerService:
    """Customers of the bound tenant as `principal` (None: the public form)."""
    return CustomerService(db_session, principal=principal, settings=settings)
