"""What console handlers ask for: the signed-in user (`viewer`), and the page they answer
(`page`: the request, its transaction, the viewer, the settings and the page's language).

The console's routes declare their access like the API's (closeloop.identity.access);
the app-wide guard (closeloop.web.guards) resolves the caller of a route declaring
access(...) with `console_caller`, named in the console router's `opt`: the cookie
session's user, once per request, in the request's transaction. `viewer` is that user.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.console.pages import render, request_locale
from closeloop.console.sessions import SESSION_COOKIE, ConsoleSessionService, ConsoleUser
from closeloop.identity.principal import Principal
from closeloop.providers import AppSettings
from closeloop.settings import Settings
from closeloop.web.deps import DbSession
from closeloop.web.guards import caller_of

__all__ = [
    "ConsolePage",
    "Page",
    "Viewer",
    "console_caller",
    "provide_console_sessions",
    "provide_page",
    "provide_viewer",
]

# The signed-in user of a console page; pages that need none do not ask for it.
Viewer = NamedDependency[ConsoleUser]

_VIEWER_STATE = "closeloop.console.viewer"


def provide_console_sessions(db_session: DbSession, settings: AppSettings) -> ConsoleSessionService:
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


@dataclasses.dataclass(frozen=True, slots=True)
class ConsolePage:
    """What a handler of a signed-in page works with: the request, its transaction, the
    viewer (admitted by the route's declaration), the settings, and the language the
    page is in (the viewer's pick, else the tenant's, else the browser's)."""

    request: Request[Any, Any, Any]
    db_session: AsyncSession
    viewer: ConsoleUser
    settings: Settings
    locale: str

    def render(self, template: str, *, status_code: int = 200, **context: Any) -> Template:
        """The console page `template` for the viewer, in the page's language."""
        return render(
            self.request,
            template,
            locale=self.locale,
            status_code=status_code,
            viewer=self.viewer,
            **context,
        )


def provide_page(
    request: Request[Any, Any, Any],
    db_session: DbSession,
    viewer: Viewer,
    settings: AppSettings,
) -> ConsolePage:
    locale = request_locale(request, viewer.tenant_locale)
    return ConsolePage(request, db_session, viewer, settings, locale)


# The page a signed-in handler answers; pages before sign-in ask for `request` alone.
Page = NamedDependency[ConsolePage]
