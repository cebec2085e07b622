"""HTTP for tenant configuration: categories, severities, departments, channels, demand
types and the tenant profile. Every staff role reads them (agents classify cases with
them); only admins change them. Nothing is deleted: `PATCH {"active": false}` retires
an item and keeps it for the cases that refer to it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter

from closeloop.config.models import TenantProfile
from closeloop.config.schemas import (
    CategoryCreate,
    CategoryRead,
    CategoryUpdate,
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    DemandTypeCreate,
    DemandTypeRead,
    DemandTypeUpdate,
    DepartmentCreate,
    DepartmentRead,
    DepartmentUpdate,
    ProfileRead,
    ProfileUpdate,
    SeverityCreate,
    SeverityRead,
    SeverityUpdate,
)
from closeloop.config.service import (
    CategoryService,
    ChannelService,
    DemandTypeService,
    DepartmentService,
    ItemService,
    ProfileService,
    SeverityService,
)
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.settings import Settings
from closeloop.web.crud import CrudController, given
from closeloop.web.deps import Caller, DbSession

__all__ = [
    "CONFIG_CONTROLLERS",
    "CategoryController",
    "ChannelController",
    "DemandTypeController",
    "DepartmentController",
    "ProfileController",
    "SeverityController",
]

STAFF = tuple(Role)
AppSettings = NamedDependency[Settings]
ACTIVE = Parameter(default=None, description="only active (true) or only retired (false) items")


def _provider(service: type[ItemService]) -> Provide:
    async def provide(db_session: DbSession, principal: Caller, settings: AppSettings) -> Any:
        return service(db_session, actor=principal.actor, settings=settings)

    return Provide(provide)


class _ItemController(CrudController):
    """Every staff role reads the lists (agents classify cases with them); admins change them."""

    tags = ("configuration",)
    reading, writing = access(*ALL_ROLES), access(Role.ADMIN)
    list_query = {"active": (bool | None, ACTIVE)}


class CategoryController(_ItemController):
    path = "/api/v1/categories"
    item, items = "category", "categories"
    read, create_body, update_body = CategoryRead, CategoryCreate, CategoryUpdate
    dependencies = {"service": _provider(CategoryService)}
    docs = {"list": "The category tree as a flat list (`parent_id` links it), in display order."}


class SeverityController(_ItemController):
    path = "/api/v1/severities"
    item, items = "severity", "severities"
    read, create_body, update_body = SeverityRead, SeverityCreate, SeverityUpdate
    dependencies = {"service": _provider(SeverityService)}
    docs = {"list": "Severity levels; a higher `rank` is more severe."}


class DepartmentController(_ItemController):
    path = "/api/v1/departments"
    item, items = "department", "departments"
    read, create_body, update_body = DepartmentRead, DepartmentCreate, DepartmentUpdate
    dependencies = {"service": _provider(DepartmentService)}


class ChannelController(_ItemController):
    path = "/api/v1/channels"
    item, items = "channel", "channels"
    read, create_body, update_body = ChannelRead, ChannelCreate, ChannelUpdate
    dependencies = {"service": _provider(ChannelService)}


class DemandTypeController(_ItemController):
    path = "/api/v1/demand-types"
    item, items = "demand_type", "demand_types"
    read, create_body, update_body = DemandTypeRead, DemandTypeCreate, DemandTypeUpdate
    dependencies = {"service": _provider(DemandTypeService)}


def _profile_read(profile: TenantProfile) -> ProfileRead:
    return msgspec.convert(
        {name: getattr(profile, name) for name in ProfileRead.__struct_fields__}, ProfileRead
    )


class ProfileController(Controller):
    path = "/api/v1/profile"
    tags = ("configuration",)

    @get("/")
    async def get_profile(self, db_session: DbSession, principal: Caller) -> ProfileRead:
        """Number patterns, satisfaction scale, follow-up script and windows, PII mode."""
        principal.require(*STAFF)
        return _profile_read(await ProfileService(db_session, actor=principal.actor).get())

    @patch("/")
    async def update_profile(
        self, db_session: DbSession, principal: Caller, data: JSONBody[ProfileUpdate]
    ) -> ProfileRead:
        """Change the fields given. Existing cases keep the numbers and texts they have."""
        principal.require(Role.ADMIN)
        service = ProfileService(db_session, actor=principal.actor)
        return _profile_read(await service.update(given(data)))


CONFIG_CONTROLLERS = [
    CategoryController,
    SeverityController,
    DepartmentController,
    ChannelController,
    DemandTypeController,
    ProfileController,
]
