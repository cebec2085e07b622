"""How to get the import service: its provider, the only way to build one.

`ImportService(session, *, actor=..., settings=...)`. `provide_import_service` is a
Litestar dependency: it checks the caller against the route's declared access (the
import routes are for admins) before building the service for the request's
transaction and caller. An actor or the CLI builds the service with its own session.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from closeloop.identity.access import declared_access
from closeloop.imports.service import ImportService
from closeloop.providers import AppSettings, Caller, Session

__all__ = ["provide_import_service"]


def provide_import_service(
    request: Request[Any, Any, Any], db_session: Session, principal: Caller, settings: AppSettings
) -> ImportService:
    declared = declared_access(request.route_handler.opt)
    if declared is not None:
        declared.check(principal)
    return ImportService(db_session, actor=principal.actor, settings=settings)
