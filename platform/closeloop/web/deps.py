"""Dependencies every controller shares: the request's transaction and the caller.

One transaction per request: `db_session` opens it, the handler works in it,
and it commits after the handler returned and before the response is sent, so a
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
from closeloop.identity.service import authenticate
from closeloop.settings import Settings
from closeloop.web.context import bind_actor
from closeloop.web.sessions import RequestSessions

__all__ = ["Caller", "DbSession", "provide_db_session", "provide_principal", "provide_settings"]

# What handlers ask for: the request's transaction and the authenticated caller.
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


async def provide_db_session(
    request: Request[Any, Any, Any],
) -> AsyncGenerator[AsyncSession, None]:
    sessions = RequestSessions.of(request.scope)
    session = sessions.open()
    try:
        await session.begin()
        yield session
        await session.commit()
    finally:
        await sessions.close(session)  # rolls back unless committed; no-op if released


async def provide_principal(request: Request[Any, Any, Any], db_session: DbSession) -> Principal:
    settings: Settings = request.app.state.settings
    principal = await authenticate(db_session, request.headers.get("authorization"), settings)
    bind_actor(tenant_id=principal.tenant_id, actor=principal.actor)
    return principal


def provide_settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]
