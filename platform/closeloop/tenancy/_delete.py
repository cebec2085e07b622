"""Deleting a tenant for good: only a suspended one, only with its confirmation token.

The token is derived from the server's secret key, the tenant's id and its last status
change, so nothing is stored and a token stops working once the tenant is resumed (a
new suspension gives a new token). The operator gets it from the dump's manifest, the
export's `X-Closeloop-Delete-Token` header, or the 409 answer of a delete sent
without it.

The rows go with one `DELETE` of the tenant's row: every tenant table's `tenant_id`
references `tenants(id) ON DELETE CASCADE`, and the cascade runs as the tables' owner,
so the append-only audit chain (which the application role may not delete from) goes
with the rest. The tenant's files go after its rows are committed: a failure in
between leaves files no row names, which a repeated delete or a purge removes.
"""

from __future__ import annotations

import hashlib
import hmac

import structlog
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.errors import Conflict
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant, TenantStatus
from closeloop.tenancy.service import TenantService

__all__ = ["delete_tenant_rows", "delete_token"]

log = structlog.get_logger(__name__)


def delete_token(settings: Settings, tenant: Tenant) -> str:
    """The token that confirms deleting `tenant` while it stays suspended as it is now."""
    message = f"delete-tenant:{tenant.id}:{tenant.status}:{tenant.updated_at.isoformat()}"
    digest = hmac.new(settings.secret_key.encode(), message.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


async def delete_tenant_rows(
    session: AsyncSession, slug: str, *, confirm: str | None, settings: Settings, actor: str
) -> Tenant:
    """Delete every row of suspended tenant `slug` in the session's transaction; the
    caller commits, then removes its files (`AttachmentStorage.purge`).

    409 `tenant_active` for a tenant that is not suspended; 409 `confirmation_required`
    (with `details.confirm_token`) without `confirm`; 409 `confirmation_mismatch` with
    a wrong or stale one.
    """
    tenant = await TenantService(session).by_slug(slug)
    if tenant.status != TenantStatus.SUSPENDED:
        raise Conflict(
            f"tenant {slug!r} is active: suspend it before deleting it", code="tenant_active"
        )
    expected = delete_token(settings, tenant)
    if confirm is None:
        raise Conflict(
            f"deleting tenant {slug!r} removes all its data for good; repeat the request "
            "with `confirm` set to `details.confirm_token`",
            code="confirmation_required",
            details={"confirm_token": expected},
        )
    if not hmac.compare_digest(confirm.encode(), expected.encode()):
        raise Conflict(
            "the confirmation token does not match this tenant's current suspension",
            code="confirmation_mismatch",
            field="confirm",
        )
    await session.execute(delete(Tenant).where(Tenant.id == tenant.id))
    log.warning("tenant deleted", tenant=slug, tenant_id=str(tenant.id), actor=actor)
    return tenant
