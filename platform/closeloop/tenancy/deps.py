"""How to get the tenant service on the operator's routes: `provide_operator_tenants`.

`TenantService(session, *, actor=..., settings=...)`; operator requests have no tenant
principal, so the provider audits as `operator`. The CLI and tenant files call the same
constructor with their own actor name.
"""

from __future__ import annotations

from closeloop.identity.service import UserService
from closeloop.providers import AppSettings, Session
from closeloop.tenancy.service import TenantService

__all__ = ["OPERATOR", "provide_operator_tenants", "provide_operator_users"]

OPERATOR = "operator"  # the audit actor of operator requests


def provide_operator_tenants(db_session: Session, settings: AppSettings) -> TenantService:
    """Tenants, changes audited as `operator`."""
    return TenantService(db_session, actor=OPERATOR, settings=settings)


def provide_operator_users(db_session: Session, settings: AppSettings) -> UserService:
    """Users of the tenant an operator request bound, audited as `operator`."""
    return UserService(db_session, actor=OPERATOR, settings=settings)
