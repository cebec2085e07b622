"""What console handlers ask for: the signed-in user (`viewer`).

The console's routes declare their access like the API's (closeloop.identity.access);
the app-wide guard (closeloop.web.guards) resolves the caller of a route declaring
access(...) with `console_caller`, named in the console router's `opt`: the cookie
session's user, once per request, in the request's transaction. `viewer` is that user.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.console.sessions import SESSION_COOKIE, ConsoleSessionService, ConsoleUser
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.web.deps import DbSession
from closeloop.web.guards import caller_of

__all__ = ["Viewer", "console_caller", "provide_console_sessions", "provide_viewer"]

# The signed-in user of a console page; pages that need none do not ask for it.
Viewer = NamedDependency[ConsoleUser]

_VIEWER_STATE = "closeloop.console.viewer"


def provide_console_sessions(
    db_session: DbSession, settings: NamedDependency[Settings]
) -> ConsoleSessionService:
    """Console sessions in the request's transaction: the one way to build the service."""
    return ConsoleSessionService(db_session, settings=settings)


async def console_caller(
    connection: ASGIConnection[Any, Any, Any, Any], session: AsyncSession
) -> Principal:
    """The signed-in user of a console page, the tenant bound to the request's
    transaction; no usable session sends the browser to the sign-in page."""
    settings: Settings = connection.app.state.settings
    viewer = await provide_console_sessions(session, settings).resolve(
        connection.cookies.get(SESSION_COOKIE)
    )
    connection.scope["state"][_VIEWER_STATE] = viewer
    return viewer.principal


def provide_viewer(request: Request[Any, Any, Any], db_session: DbSession) -> ConsoleUser:
    """The viewer `console_caller` resolved for this request's access check."""
    caller_of(request)  # a page declaring no access(...) has no viewer
    viewer: ConsoleUser = request.scope["state"][_VIEWER_STATE]
    return viewer
