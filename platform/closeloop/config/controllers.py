"""HTTP for tenant configuration: categories, severities, departments, channels, demand
types and the tenant profile. Every staff role reads them (agents classify cases with
them); only admins change them. Nothing is deleted: `PATCH {"active": false}` retires
an item and keeps it for the cases that refer to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import Controller, get, patch
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter

from closeloop.config.deps import (
    provide_category_service,
    provide_channel_service,
    provide_demand_type_service,
    provide_department_service,
    provide_profile_service,
    provide_severity_service,
)
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
    name: str,
    service: type[ItemService],
    provider: Callable[..., ItemService],
    *bodies: type[Any],
    docs: dict[str, str] | None = None,
) -> type[CrudController]:
    """The controller of one list: `/api/v1/<entity>s` (dashes for underscores), its
    service from `provider` (config/deps.py)."""
    entity = service.kind.entity
    plural = {"category": "categories", "severity": "severities"}.get(entity, f"{entity}s")
    namespace = {
        "path": f"/api/v1/{plural.replace('_', '-')}",
        "item": entity,
        "provider": provider,
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
    provide_category_service,
    CategoryRead,
    CategoryCreate,
    CategoryUpdate,
    docs={"list": "The category tree as a flat list (`parent_id` links it), in display order."},
)
SeverityController = _items(
    "SeverityController",
    SeverityService,
    provide_severity_service,
    SeverityRead,
    SeverityCreate,
    SeverityUpdate,
    docs={"list": "Severity levels; a higher `rank` is more severe."},
)
DepartmentController = _items(
    "DepartmentController",
    DepartmentService,
    provide_department_service,
    DepartmentRead,
    DepartmentCreate,
    DepartmentUpdate,
)
ChannelController = _items(
    "ChannelController",
    ChannelService,
    provide_channel_service,
    ChannelRead,
    ChannelCreate,
    ChannelUpdate,
)
DemandTypeController = _items(
    "DemandTypeController",
    DemandTypeService,
    provide_demand_type_service,
    DemandTypeRead,
    DemandTypeCreate,
    DemandTypeUpdate,
)


def _profile_read(profile: TenantProfile) -> ProfileRead:
    return msgspec.convert(
        {name: getattr(profile, name) for name in ProfileRead.__struct_fields__}, ProfileRead
    )


class ProfileController(Controller):
    path = "/api/v1/profile"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)
    dependencies = {"profiles": Provide(provide_profile_service, sync_to_thread=False)}

    @get("/")
    async def get_profile(self, profiles: NamedDependency[ProfileService]) -> ProfileRead:
        """Number patterns, satisfaction scale, follow-up script and windows, PII mode."""
        return _profile_read(await profiles.get())

    @patch("/", opt=access(Role.ADMIN))
    async def update_profile(
        self, profiles: NamedDependency[ProfileService], data: JSONBody[ProfileUpdate]
    ) -> ProfileRead:
        """Change the fields given. Existing cases keep the numbers and texts they have."""
        return _profile_read(await profiles.update(given(data)))


CONFIG_CONTROLLERS = [
    CategoryController,
    SeverityController,
    DepartmentController,
    ChannelController,
    DemandTypeController,
    ProfileController,
]
