"""Dependencies every controller shares: the request's transaction and the caller.

One transaction per request: `db_session` opens it (unless the access guard did), checks
the caller against the route's declared access in it (web/guards.py), the handler works in
it, and it commits after the handler returned and before the response is sent, so a
failed commit is a 500, never a lost write behind a 2xx. An exception anywhere
rolls it back: in the handler, here; in a dependency or parameter that fails after
the session was opened, `RequestSessionsMiddleware` (web/sessions.py), which owns the
request's sessions and closes any still open before the response starts.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.web.guards import caller_of, settle_caller
from closeloop.web.sessions import RequestSessions

__all__ = ["Caller", "DbSession", "provide_db_session", "provide_principal", "provide_settings"]

# What handlers ask for: the request's transaction and the authenticated caller.
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


async def provide_db_session(
    request: Request[Any, Any, Any],
) -> AsyncGenerator[AsyncSession, None]:
    sessions = RequestSessions.of(request.scope)
    session = await sessions.transaction()
    try:
        await settle_caller(request, session)  # the route's declared access (web/guards.py)
        yield session
        await session.commit()
    finally:
        await sessions.close(session)  # rolls back unless committed; no-op if released


def provide_principal(request: Request[Any, Any, Any], db_session: DbSession) -> Principal:
    """The caller the access guard resolved (web/guards.py); a route declaring
    access(...) has one, other routes must not ask for it."""
    return caller_of(request)


def provide_settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]
