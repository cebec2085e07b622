"""How to get the customer service: `provide_customer_service`, the only way to build one.

`CustomerService(session, *, principal=..., settings=...)`; the provider is a Litestar
dependency (parameters `db_session`, `principal`, `settings`) and a plain function that
intake, actors and the CLI call with their own session, principal and settings.
"""

from __future__ import annotations

from closeloop.customers.service import CustomerService
from closeloop.providers import as_caller

__all__ = ["provide_customer_service"]

# `principal` may be None (the public intake form, audited as `public`).
provide_customer_service = as_caller(CustomerService, "provide_customer_service")
