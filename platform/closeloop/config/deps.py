"""How to get the configuration services: one provider per service.

`ProfileService` and the services of the lists (`CategoryService`, ...) take
`(session, *, actor=..., settings=...)`; the
providers are Litestar dependencies (parameters `db_session`, `principal`, `settings`)
that audit changes as the caller. Code without a caller (tenant files, the demo, the
CLI) calls the same constructor with its own actor name and settings.
"""

from __future__ import annotations

from closeloop.config.service import (
    CategoryService,
    ChannelService,
    DemandTypeService,
    DepartmentService,
    ProfileService,
    SeverityService,
)
from closeloop.providers import audited_as_caller

__all__ = [
    "provide_category_service",
    "provide_channel_service",
    "provide_demand_type_service",
    "provide_department_service",
    "provide_profile_service",
    "provide_severity_service",
]

provide_profile_service = audited_as_caller(ProfileService, "provide_profile_service")
provide_category_service = audited_as_caller(CategoryService, "provide_category_service")
provide_severity_service = audited_as_caller(SeverityService, "provide_severity_service")
provide_department_service = audited_as_caller(DepartmentService, "provide_department_service")
provide_channel_service = audited_as_caller(ChannelService, "provide_channel_service")
provide_demand_type_service = audited_as_caller(DemandTypeService, "provide_demand_type_service")
