"""The `demo` tenant of `closeloop demo`: one user per role, and a manager for each of the
default departments, so that every lifecycle action (assign included) can be tried at
once. Seeding is idempotent: what an earlier run made is kept as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.config.defaults import DEFAULT_DEPARTMENTS, seed_defaults
from closeloop.config.models import Department
from closeloop.config.service import DepartmentService
from closeloop.db import tenant_scope, transaction
from closeloop.demo_cases import seed_cases
from closeloop.demo_texts import demo_texts, shared_data_dir
from closeloop.errors import Conflict, NotFound
from closeloop.identity.models import ROLES, Permission, Role
from closeloop.identity.service import UserService
from closeloop.settings import Settings
from closeloop.tenancy.service import TenantService

__all__ = ["DEMO_PASSWORD", "DEMO_TENANT", "DemoLogins", "seed_demo", "seed_demo_cases"]

DEMO_TENANT = "demo"
DEMO_PASSWORD = "closeloop-demo"  # noqa: S105 - printed on purpose for the local demo
ACTOR = "demo"

# Who sees customers' details unmasked in the demo, besides the admin (who is made
# like every tenant's first admin, `UserService.create_admin`).
_PII_ROLES = (Role.SUPERVISOR.value,)
_MANAGER_ROLES = (Role.SUPERVISOR.value, Role.HANDLER.value)


class DemoLogins:
    """What the banner prints: (role, e-mail) per role, (department, e-mail) per manager."""

    def __init__(self) -> None:
        self.roles: list[tuple[str, str]] = []
        self.managers: list[tuple[str, str]] = []


def role_email(role: str) -> str:
    return f"{role}@{DEMO_TENANT}.example.com"


def manager_email(department_code: str) -> str:
    return f"{department_code.replace('_', '-')}.manager@{DEMO_TENANT}.example.com"


async def seed_demo(session: AsyncSession) -> DemoLogins:
    """Create (or complete) the demo tenant in the session's transaction."""
    tenants = TenantService(session, actor=ACTOR)
    try:
        tenant = await tenants.by_slug(DEMO_TENANT)
        await tenant_scope(session, tenant.id)
        await seed_defaults(session, tenant.id)  # a demo folder from before some defaults
    except NotFound:
        tenant = await tenants.create(
            slug=DEMO_TENANT, name="Closeloop demo", locale="zh-CN", timezone="Asia/Shanghai"
        )
    logins = DemoLogins()
    users = UserService(session, actor=ACTOR)
    for role in ROLES:
        email = role_email(role)
        logins.roles.append((role, email))
        with contextlib.suppress(Conflict):  # kept from an earlier run
            if role == Role.ADMIN.value:
                await users.create_admin(
                    email=email, display_name="Demo admin", password=DEMO_PASSWORD
                )
                continue
            await users.create(
                email=email,
                display_name=f"Demo {role}",
                password=DEMO_PASSWORD,
                roles=[role],
                permissions=[Permission.PII.value] if role in _PII_ROLES else [],
            )
    await _department_managers(session, users, logins)
    return logins


async def _department_managers(
    session: AsyncSession, users: UserService, logins: DemoLogins
) -> None:
    """A manager (supervisor and handler of the department) for each default department
    the tenant still has without one."""
    codes = [code for code, _, _ in DEFAULT_DEPARTMENTS]
    found = await session.scalars(select(Department).where(Department.code.in_(codes)))
    departments = {department.code: department for department in found.all()}
    service = DepartmentService(session, actor=ACTOR)
    for code, name_zh, name_en in DEFAULT_DEPARTMENTS:
        department = departments.get(code)
        if department is None:
            continue
        email = manager_email(code)
        logins.managers.append((f"{name_zh} {name_en}", email))
        if department.manager_id is not None:
            continue
        try:
            manager = await users.create(
                email=email,
                display_name=f"{name_zh}经理 ({name_en} manager)",
                password=DEMO_PASSWORD,
                roles=_MANAGER_ROLES,
                permissions=[Permission.PII.value],
                department_id=department.id,
            )
        except Conflict:  # made by an earlier run, then unset by an admin: leave it so
            continue
        await service.update(department.id, {"manager_id": manager.id})


async def seed_demo_cases(
    factory: async_sessionmaker[AsyncSession], settings: Settings, slugs: Sequence[str]
) -> dict[str, Counter[str]]:
    """Cases in every status for each tenant of `slugs` that has none yet (one
    transaction per tenant), from the shared complaint texts or the built-in ones."""
    chinese, english, _ = demo_texts(shared_data_dir(settings.shared_data))

    async def one(slug: str) -> Counter[str]:
        async with transaction(factory) as session:
            tenant = await TenantService(session, actor=ACTOR).by_slug(slug)
            await tenant_scope(session, tenant.id)
            return await seed_cases(session, settings, (chinese, english), seed=slug)

    # The tenants side by side (a connection each): the start is as long as the largest.
    made = await asyncio.gather(*(one(slug) for slug in slugs))
    return dict(zip(slugs, made, strict=True))
