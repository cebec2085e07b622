"""Platform operators' HTTP: tenants are created, listed, suspended, resumed, exported
and deleted here.

Operators belong to no tenant; they present the `CLOSELOOP_OPERATOR_TOKEN` setting
as their bearer token.
"""

from __future__ import annotations

import asyncio
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import File

from closeloop.cases.deps import Storage, provide_storage
from closeloop.crud import read_as
from closeloop.identity.access import operator
from closeloop.identity.service import UserService
from closeloop.providers import AppSettings, Session
from closeloop.tenancy._delete import delete_tenant_rows
from closeloop.tenancy._dump import dump_tenant
from closeloop.tenancy.deps import OPERATOR, provide_operator_tenants, provide_operator_users
from closeloop.tenancy.models import Tenant, TenantStatus
from closeloop.tenancy.schemas import TenantCreate, TenantCreated, TenantRead
from closeloop.tenancy.service import TenantService

__all__ = ["PlatformTenantController"]

Tenants = NamedDependency[TenantService]
Users = NamedDependency[UserService]


def _pack(folder: Path, archive: Path) -> None:
    """`folder` as a gzipped tar of one top folder named like it; the folder goes."""
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    shutil.rmtree(folder)


def tenant_read(tenant: Tenant) -> TenantRead:
    return read_as(TenantRead, tenant)


class PlatformTenantController(Controller):
    path = "/platform/v1/tenants"
    opt = operator()
    tags = ["platform"]
    dependencies = {
        "tenants": Provide(provide_operator_tenants, sync_to_thread=False),
        "users": Provide(provide_operator_users, sync_to_thread=False),
        "storage": Provide(provide_storage, sync_to_thread=False),
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

    @get("/{slug:str}/export", media_type="application/gzip")
    async def export_tenant(
        self,
        db_session: Session,
        storage: Storage,
        settings: AppSettings,
        slug: FromPath[str],
        pii: Annotated[
            bool, QueryParameter(description="PII in clear (audited in the tenant's chain)")
        ] = False,
    ) -> File:
        """The whole tenant as a `.tar.gz` of the dump folder (`closeloop tenants dump`):
        manifest, tenant file, cases with timelines and SLA history, customers (PII
        masked unless `pii=true`), notifications, the audit chain with its verify result,
        and attachment files. A suspended tenant's answer carries its deletion token in
        `X-Closeloop-Delete-Token` (and in the manifest)."""
        work = Path(tempfile.mkdtemp(prefix="closeloop-export-"))
        try:
            folder = work / slug
            result = await dump_tenant(
                db_session,
                slug,
                folder,
                storage=storage,
                settings=settings,
                with_pii=pii,
                actor=OPERATOR,
            )
            archive = work / f"{slug}.tar.gz"
            await asyncio.to_thread(_pack, folder, archive)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        headers = {"X-Closeloop-Audit-Ok": "true" if result.audit_ok else "false"}
        if token := result.manifest.get("delete_token"):
            headers["X-Closeloop-Delete-Token"] = token
        return File(
            path=archive,
            filename=f"{slug}.tar.gz",
            media_type="application/gzip",
            headers=headers,
            background=BackgroundTask(shutil.rmtree, work, True),
        )

    @delete("/{slug:str}", status_code=204)
    async def delete_tenant(
        self,
        db_session: Session,
        storage: Storage,
        settings: AppSettings,
        slug: FromPath[str],
        confirm: Annotated[
            str | None, QueryParameter(description="the tenant's deletion token")
        ] = None,
    ) -> None:
        """Delete a suspended tenant for good: every row of it in every tenant table, then
        its files. Without `confirm` the answer is 409 `confirmation_required` carrying
        the token in `details.confirm_token`; dump the tenant first."""
        tenant = await delete_tenant_rows(
            db_session, slug, confirm=confirm, settings=settings, actor=OPERATOR
        )
        await db_session.commit()  # the rows are gone for good before any file is
        await storage.purge(tenant.id)
