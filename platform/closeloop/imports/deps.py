"""The import routes' provider: the service for the request's transaction and caller,
after the caller's access was checked against the route's declaration (admins)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from closeloop.identity.access import declared_access
from closeloop.imports.service import ImportService
from closeloop.settings import Settings
from closeloop.web.deps import Caller, DbSession

__all__ = ["provide_import_service"]

AppSettings = NamedDependency[Settings]


async def provide_import_service(
    request: Request[Any, Any, Any], db_session: DbSession, principal: Caller, settings: AppSettings
) -> ImportService:
    declared = declared_access(request.route_handler.opt)
    if declared is not None:
        declared.check(principal)
    return ImportService(db_session, actor=principal.actor, settings=settings)
