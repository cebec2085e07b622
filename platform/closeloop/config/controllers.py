"""HTTP for tenant configuration: categories, severities, departments, channels, demand
types and the tenant profile. Every staff role reads them (agents classify cases with
them); only admins change them. Nothing is deleted: `PATCH {"active": false}` retires
an item and keeps it for the cases that refer to it.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

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
    CATEGORIES,
    CHANNELS,
    DEMAND_TYPES,
    DEPARTMENTS,
    SEVERITIES,
    ConfigService,
    ItemKind,
    ProfileService,
)
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal
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

R = TypeVar("R", bound=msgspec.Struct)
ACTIVE = Parameter(default=None, description="only active (true) or only retired (false) items")


def _read(read_type: type[R], row: Any) -> R:
    return read_type(**{name: getattr(row, name) for name in read_type.__struct_fields__})


def _given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a body sets (PATCH leaves out what does not change)."""
    return {
        name: msgspec.to_builtins(value) if isinstance(value, list) else value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


def _service(session: Any, principal: Principal) -> ConfigService:
    return ConfigService(session, actor=principal.actor)


async def _list(
    session: Any, principal: Principal, kind: ItemKind, read: type[R], active: bool | None
) -> list[R]:
    return [
        _read(read, row) for row in await _service(session, principal).list(kind, active=active)
    ]


async def _create(
    session: Any, principal: Principal, kind: ItemKind, read: type[R], data: msgspec.Struct
) -> R:
    return _read(read, await _service(session, principal).create(kind, _given(data)))


async def _get(
    session: Any, principal: Principal, kind: ItemKind, read: type[R], item_id: uuid.UUID
) -> R:
    return _read(read, await _service(session, principal).get(kind, item_id))


async def _update(
    session: Any,
    principal: Principal,
    kind: ItemKind,
    read: type[R],
    item_id: uuid.UUID,
    data: msgspec.Struct,
) -> R:
    return _read(read, await _service(session, principal).update(kind, item_id, _given(data)))


class CategoryController(Controller):
    path = "/api/v1/categories"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_categories(
        self, db_session: DbSession, principal: Caller, active: bool | None = ACTIVE
    ) -> list[CategoryRead]:
        """The category tree as a flat list (`parent_id` links it), in display order."""
        return await _list(db_session, principal, CATEGORIES, CategoryRead, active)

    @post("/", opt=access(Role.ADMIN))
    async def create_category(
        self, db_session: DbSession, principal: Caller, data: JSONBody[CategoryCreate]
    ) -> CategoryRead:
        return await _create(db_session, principal, CATEGORIES, CategoryRead, data)

    @get("/{category_id:uuid}")
    async def get_category(
        self, db_session: DbSession, principal: Caller, category_id: FromPath[uuid.UUID]
    ) -> CategoryRead:
        return await _get(db_session, principal, CATEGORIES, CategoryRead, category_id)

    @patch("/{category_id:uuid}", opt=access(Role.ADMIN))
    async def update_category(
        self,
        db_session: DbSession,
        principal: Caller,
        category_id: FromPath[uuid.UUID],
        data: JSONBody[CategoryUpdate],
    ) -> CategoryRead:
        return await _update(db_session, principal, CATEGORIES, CategoryRead, category_id, data)


class SeverityController(Controller):
    path = "/api/v1/severities"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_severities(
        self, db_session: DbSession, principal: Caller, active: bool | None = ACTIVE
    ) -> list[SeverityRead]:
        """Severity levels; a higher `rank` is more severe."""
        return await _list(db_session, principal, SEVERITIES, SeverityRead, active)

    @post("/", opt=access(Role.ADMIN))
    async def create_severity(
        self, db_session: DbSession, principal: Caller, data: JSONBody[SeverityCreate]
    ) -> SeverityRead:
        return await _create(db_session, principal, SEVERITIES, SeverityRead, data)

    @get("/{severity_id:uuid}")
    async def get_severity(
        self, db_session: DbSession, principal: Caller, severity_id: FromPath[uuid.UUID]
    ) -> SeverityRead:
        return await _get(db_session, principal, SEVERITIES, SeverityRead, severity_id)

    @patch("/{severity_id:uuid}", opt=access(Role.ADMIN))
    async def update_severity(
        self,
        db_session: DbSession,
        principal: Caller,
        severity_id: FromPath[uuid.UUID],
        data: JSONBody[SeverityUpdate],
    ) -> SeverityRead:
        return await _update(db_session, principal, SEVERITIES, SeverityRead, severity_id, data)


class DepartmentController(Controller):
    path = "/api/v1/departments"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_departments(
        self, db_session: DbSession, principal: Caller, active: bool | None = ACTIVE
    ) -> list[DepartmentRead]:
        return await _list(db_session, principal, DEPARTMENTS, DepartmentRead, active)

    @post("/", opt=access(Role.ADMIN))
    async def create_department(
        self, db_session: DbSession, principal: Caller, data: JSONBody[DepartmentCreate]
    ) -> DepartmentRead:
        return await _create(db_session, principal, DEPARTMENTS, DepartmentRead, data)

    @get("/{department_id:uuid}")
    async def get_department(
        self, db_session: DbSession, principal: Caller, department_id: FromPath[uuid.UUID]
    ) -> DepartmentRead:
        return await _get(db_session, principal, DEPARTMENTS, DepartmentRead, department_id)

    @patch("/{department_id:uuid}", opt=access(Role.ADMIN))
    async def update_department(
        self,
        db_session: DbSession,
        principal: Caller,
        department_id: FromPath[uuid.UUID],
        data: JSONBody[DepartmentUpdate],
    ) -> DepartmentRead:
        return await _update(
            db_session, principal, DEPARTMENTS, DepartmentRead, department_id, data
        )


class ChannelController(Controller):
    path = "/api/v1/channels"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_channels(
        self, db_session: DbSession, principal: Caller, active: bool | None = ACTIVE
    ) -> list[ChannelRead]:
        return await _list(db_session, principal, CHANNELS, ChannelRead, active)

    @post("/", opt=access(Role.ADMIN))
    async def create_channel(
        self, db_session: DbSession, principal: Caller, data: JSONBody[ChannelCreate]
    ) -> ChannelRead:
        return await _create(db_session, principal, CHANNELS, ChannelRead, data)

    @get("/{channel_id:uuid}")
    async def get_channel(
        self, db_session: DbSession, principal: Caller, channel_id: FromPath[uuid.UUID]
    ) -> ChannelRead:
        return await _get(db_session, principal, CHANNELS, ChannelRead, channel_id)

    @patch("/{channel_id:uuid}", opt=access(Role.ADMIN))
    async def update_channel(
        self,
        db_session: DbSession,
        principal: Caller,
        channel_id: FromPath[uuid.UUID],
        data: JSONBody[ChannelUpdate],
    ) -> ChannelRead:
        return await _update(db_session, principal, CHANNELS, ChannelRead, channel_id, data)


class DemandTypeController(Controller):
    path = "/api/v1/demand-types"
    tags = ("configuration",)
    opt = access(*ALL_ROLES)

    @get("/")
    async def list_demand_types(
        self, db_session: DbSession, principal: Caller, active: bool | None = ACTIVE
    ) -> list[DemandTypeRead]:
        return await _list(db_session, principal, DEMAND_TYPES, DemandTypeRead, active)

    @post("/", opt=access(Role.ADMIN))
    async def create_demand_type(
        self, db_session: DbSession, principal: Caller, data: JSONBody[DemandTypeCreate]
    ) -> DemandTypeRead:
        return await _create(db_session, principal, DEMAND_TYPES, DemandTypeRead, data)

    @get("/{demand_type_id:uuid}")
    async def get_demand_type(
        self, db_session: DbSession, principal: Caller, demand_type_id: FromPath[uuid.UUID]
    ) -> DemandTypeRead:
        return await _get(db_session, principal, DEMAND_TYPES, DemandTypeRead, demand_type_id)

    @patch("/{demand_type_id:uuid}", opt=access(Role.ADMIN))
    async def update_demand_type(
        self,
        db_session: DbSession,
        principal: Caller,
        demand_type_id: FromPath[uuid.UUID],
        data: JSONBody[DemandTypeUpdate],
    ) -> DemandTypeRead:
        return await _update(
            db_session, principal, DEMAND_TYPES, DemandTypeRead, demand_type_id, data
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
        return _profile_read(await service.update(_given(data)))


CONFIG_CONTROLLERS = [
    CategoryController,
    SeverityController,
    DepartmentController,
    ChannelController,
    DemandTypeController,
    ProfileController,
]
