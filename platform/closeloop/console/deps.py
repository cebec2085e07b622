"""What console handlers ask for: the signed-in user (`viewer`), and the caller
(`principal`) for services and filters that take one, as the API's handlers do."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from closeloop.console.sessions import SESSION_COOKIE, ConsoleSessionService, ConsoleUser
from closeloop.identity.access import Audience, declared_access
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.web.context import bind_actor
from closeloop.web.deps import DbSession

__all__ = ["Viewer", "provide_console_sessions", "provide_viewer", "provide_viewer_principal"]

# The signed-in user of a console page; pages that need none do not ask for it.
Viewer = NamedDependency[ConsoleUser]


def provide_console_sessions(
    db_session: DbSession, settings: NamedDependency[Settings]
) -> ConsoleSessionService:
    """Console sessions in the request's transaction: the one way to build the service."""
    return ConsoleSessionService(db_session, settings=settings)


async def provide_viewer(request: Request[Any, Any, Any], db_session: DbSession) -> ConsoleUser:
    """The signed-in user of a console page, the tenant bound to the request's
    transaction; no usable session sends the browser to the sign-in page. A route that
    declares who may call it (`opt=access(...)`) refuses anyone else (403 page)."""
    settings: Settings = request.app.state.settings
    try:
        viewer = await provide_console_sessions(db_session, settings).resolve(
            request.cookies.get(SESSION_COOKIE)
        )
        declared = declared_access(request.route_handler.opt)
        if declared is not None and declared.audience is Audience.TENANT:
            declared.check(viewer.principal)
    except BaseException:
        # Litestar does not unwind dependencies resolved before a failing one: give the
        # connection back now (as the API's provide_principal does).
        await db_session.rollback()
        await db_session.close()
        raise
    bind_actor(tenant_id=viewer.principal.tenant_id, actor=viewer.principal.actor)
    return viewer


def provide_viewer_principal(viewer: Viewer) -> Principal:
    """The signed-in user as the caller of the services the API calls."""
    return viewer.principal
