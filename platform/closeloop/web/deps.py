"""Dependencies every controller shares: the request's transaction and the caller.

One transaction per request: `db_session` opens it, the handler works in it,
and it commits after the handler returned and before the response is sent, so a
failed commit is a 500, never a lost write behind a 2xx. An exception anywhere
rolls it back.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.identity.principal import Principal
from closeloop.identity.service import authenticate
from closeloop.settings import Settings
from closeloop.web.context import bind_actor

__all__ = ["Caller", "DbSession", "provide_db_session", "provide_principal", "provide_settings"]

# What handlers ask for: the request's transaction and the authenticated caller.
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]


async def provide_db_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    factory: async_sessionmaker[AsyncSession] = state.sessionmaker
    async with factory() as session:
        await session.begin()
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def provide_principal(request: Request[Any, Any, Any], db_session: DbSession) -> Principal:
    settings: Settings = request.app.state.settings
    try:
        principal = await authenticate(db_session, request.headers.get("authorization"), settings)
    except BaseException:
        # Litestar does not unwind dependencies resolved before a failing one, so give
        # the connection back now rather than when the session is garbage-collected.
        await db_session.rollback()
        await db_session.close()
        raise
    bind_actor(tenant_id=principal.tenant_id, actor=principal.actor)
    return principal


def provide_settings(state: State) -> Settings:
    return state.settings  # type: ignore[no-any-return]
