"""What console handlers ask for: the signed-in user (`viewer`)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency

from closeloop.console.sessions import SESSION_COOKIE, ConsoleSessionService, ConsoleUser
from closeloop.settings import Settings
from closeloop.web.context import bind_actor
from closeloop.web.deps import DbSession

__all__ = ["Viewer", "provide_console_sessions", "provide_viewer"]

# The signed-in user of a console page; pages that need none do not ask for it.
Viewer = NamedDependency[ConsoleUser]


def provide_console_sessions(
    db_session: DbSession, settings: NamedDependency[Settings]
) -> ConsoleSessionService:
    """Console sessions in the request's transaction: the one way to build the service."""
    return ConsoleSessionService(db_session, settings=settings)


async def provide_viewer(request: Request[Any, Any, Any], db_session: DbSession) -> ConsoleUser:
    """The signed-in user of a console page, the tenant bound to the request's
    transaction; no usable session sends the browser to the sign-in page."""
    settings: Settings = request.app.state.settings
    try:
        viewer = await provide_console_sessions(db_session, settings).resolve(
            request.cookies.get(SESSION_COOKIE)
        )
    except BaseException:
        # Litestar does not unwind dependencies resolved before a failing one: give the
        # connection back now (as the API's provide_principal does).
        await db_session.rollback()
        await db_session.close()
        raise
    bind_actor(tenant_id=viewer.principal.tenant_id, actor=viewer.principal.actor)
    return viewer
