"""Platform operators' HTTP: tenants are created, listed, suspended and resumed here.

Operators belong to no tenant; they present the `CLOSELOOP_OPERATOR_TOKEN` setting
as their bearer token.
"""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from closeloop.crud import read_as
from closeloop.identity.access import operator
from closeloop.identity.service import UserService
from closeloop.tenancy.deps import provide_operator_tenants, provide_operator_users
from closeloop.tenancy.models import Tenant, TenantStatus
from closeloop.tenancy.schemas import TenantCreate, TenantCreated, TenantRead
from closeloop.tenancy.service import TenantService

__all__ = ["PlatformTenantController"]

Tenants = NamedDependency[TenantService]
Users = NamedDependency[UserService]


def tenant_read(tenant: Tenant) -> TenantRead:
    return read_as(TenantRead, tenant)


class PlatformTenantController(Controller):
    path = "/platform/v1/tenants"
    opt = operator()
    tags = ["platform"]
    dependencies = {
        "tenants": Provide(provide_operator_tenants, sync_to_thread=False),
        "users": Provide(provide_operator_users, sync_to_thread=False),
    }

    @post("/")
    async def create_tenant(
        self, tenants: Tenants, users: Users, data: JSONBody[TenantCreate]
    ) -> TenantCreated:
        """Create a tenant together with its first admin (role `admin`, permission `pii`)."""
        tenant = await tenants.create(
            slug=data.slug, name=data.name, locale=data.locale, timezone=data.timezone
        )
        admin = await users.create_admin(
            email=data.admin_email, display_name=data.admin_name, password=data.admin_password
        )
        read = tenant_read(tenant)
        return TenantCreated(
            **{f: getattr(read, f) for f in read.__struct_fields__},
            admin_user_id=admin.id,
            admin_email=admin.email,
        )

    @get("/")
    async def list_tenants(self, tenants: Tenants) -> list[TenantRead]:
        return [tenant_read(t) for t in await tenants.list()]

    @get("/{slug:str}")
    async def get_tenant(self, tenants: Tenants, slug: FromPath[str]) -> TenantRead:
        return tenant_read(await tenants.by_slug(slug))

    @post("/{slug:str}/suspend", status_code=200)
    async def suspend_tenant(self, tenants: Tenants, slug: FromPath[str]) -> TenantRead:
        """Suspend a tenant: its users and API keys get 403 until it is resumed."""
        return tenant_read(await tenants.set_status(slug, TenantStatus.SUSPENDED))

    @post("/{slug:str}/resume", status_code=200)
    async def resume_tenant(self, tenants: Tenants, slug: FromPath[str]) -> TenantRead:
        return tenant_read(await tenants.set_status(slug, TenantStatus.ACTIVE))
