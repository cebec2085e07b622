"""Tenants: the companies that share one deployment, and what binds a request to one."""

from closeloop.tenancy.models import Tenant, TenantStatus
from closeloop.tenancy.service import TenantService, TenantSuspended

__all__ = ["Tenant", "TenantService", "TenantStatus", "TenantSuspended"]
