"""HTTP for tenant configuration: categories, severities, departments, channels, demand
types and the tenant profile. Every staff role reads them (agents classify cases with
them); only admins change them. Nothing is deleted: `PATCH {"active": false}` retires
an item and keeps it for the cases that refer to it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch
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
from closeloop.web.crud import ConfigurationController, CrudController, given
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

ACTIVE = Parameter(default=None, description="only active (true) or only retired (false) items")


class _ItemController(ConfigurationController):
    list_query = {"active": (bool | None, ACTIVE)}


def _items(
    name: str, service: type[ItemService], *bodies: type[Any], docs: dict[str, str] | None = None
) -> type[CrudController]:
    """The controller of one list: `/api/v1/<entity>s` (dashes for underscores)."""
    entity = service.kind.entity
    plural = {"category": "categories", "severity": "severities"}.get(entity, f"{entity}s")
    namespace = {
        "path": f"/api/v1/{plural.replace('_', '-')}",
        "item": entity,
        "service": service,
        "read": bodies[0],
        "create_body": bodies[1],
        "update_body": bodies[2],
        "docs": docs or {},
        "__module__": __name__,
    }
    return type(name, (_ItemController,), namespace)


CategoryController = _items(
    "CategoryController",
    CategoryService,
    CategoryRead,
    CategoryCreate,
    CategoryUpdate,
    docs={"list": "The category tree as a flat list (`parent_id` links it), in display order."},
)
SeverityController = _items(
    "SeverityController",
    SeverityService,
    SeverityRead,
    SeverityCreate,
    SeverityUpdate,
    docs={"list": "Severity levels; a higher `rank` is more severe."},
)
DepartmentController = _items(
    "DepartmentController", DepartmentService, DepartmentRead, DepartmentCreate, DepartmentUpdate
)
ChannelController = _items(
    "ChannelController", ChannelService, ChannelRead, ChannelCreate, ChannelUpdate
)
DemandTypeController = _items(
    "DemandTypeController", DemandTypeService, DemandTypeRead, DemandTypeCreate, DemandTypeUpdate
)


def _profile_read(profile: TenantProfile) -> ProfileRead:
    return msgspec.convert(
        {name: getattr(profile, name) for name in ProfileRead.__struct_fields__}, ProfileRead
    )


class ProfileController(Controller):
    path = "/api/v1/profile"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def get_profile(self, db_session: DbSession, principal: Caller) -> ProfileRead:
        """Number patterns, satisfaction scale, follow-up script and windows, PII mode."""
        return _profile_read(await ProfileService(db_session, actor=principal.actor).get())

    @patch("/", opt=access(Role.ADMIN))
    async def update_profile(
        self, db_session: DbSession, principal: Caller, data: JSONBody[ProfileUpdate]
    ) -> ProfileRead:
        """Change the fields given. Existing cases keep the numbers and texts they have."""
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
