"""Tenant rules: creation with a first admin, suspension, and the active check."""

from __future__ import annotations

import functools
import uuid
import zoneinfo
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from closeloop.config.defaults import seed_defaults
from closeloop.crud import Service
from closeloop.db import add_in_savepoint, tenant_scope
from closeloop.errors import Conflict, Forbidden, NotFound, UnprocessableEntity
from closeloop.tenancy.models import Tenant, TenantStatus

__all__ = ["TenantService", "TenantSuspended"]

LOCALES = ("zh-CN", "en")


@functools.cache
def _time_zones() -> frozenset[str]:
    """IANA zone names. `localtime` is the host's own zone, not a name: a tenant's clock
    must not change with the server it runs on."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


class TenantSuspended(Forbidden, code="tenant_suspended"): ...


class TenantService(Service):
    """Tenants; creation and status changes are audited (in the tenant's own chain) as
    `actor`."""

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def by_slug(self, slug: str) -> Tenant:
        tenant = await self.session.scalar(select(Tenant).where(Tenant.slug == slug))
        if tenant is None:
            raise NotFound(f"no tenant {slug!r}")
        return tenant

    async def list(self) -> Sequence[Tenant]:
        return (await self.session.scalars(select(Tenant).order_by(Tenant.slug))).all()

    @staticmethod
    def ensure_active(tenant: Tenant) -> None:
        if tenant.status != TenantStatus.ACTIVE:
            raise TenantSuspended(
                f"tenant {tenant.slug!r} is suspended; its users and API keys are refused "
                "until the service operator resumes it"
            )

    async def create(self, *, slug: str, name: str, locale: str, timezone: str) -> Tenant:
        """Insert a tenant and bind the session to it, so its first rows can follow."""
        if locale not in LOCALES:
            raise UnprocessableEntity(f"locale must be one of {', '.join(LOCALES)}", field="locale")
        if timezone not in _time_zones():
            raise UnprocessableEntity(
                f"unknown time zone {timezone!r}; use an IANA name such as 'Asia/Shanghai'",
                field="timezone",
            )
        tenant = Tenant(
            slug=slug,
            name=name,
            locale=locale,
            timezone=timezone,
            status=TenantStatus.ACTIVE,
            settings={},
        )
        try:
            await add_in_savepoint(self.session, tenant)
        except IntegrityError:
            raise Conflict(f"a tenant with slug {slug!r} exists already", field="slug") from None
        await tenant_scope(self.session, tenant.id)
        await seed_defaults(self.session, tenant.id)
        await self.record(
            "tenant.create",
            "tenant",
            tenant.id,
            after={"slug": slug, "name": name, "locale": locale, "timezone": timezone},
        )
        return tenant

    async def set_status(self, slug: str, status: TenantStatus) -> Tenant:
        tenant = await self.by_slug(slug)
        if tenant.status == status.value:
            return tenant
        before = {"status": tenant.status}
        tenant.status = status.value
        await self.session.flush()
        await tenant_scope(self.session, tenant.id)
        action = "tenant.resume" if status == TenantStatus.ACTIVE else "tenant.suspend"
        await self.record(
            action,
            "tenant",
            tenant.id,
            before=before,
            after={"status": tenant.status},
        )
        return tenant
