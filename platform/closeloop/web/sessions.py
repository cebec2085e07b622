"""A request's database sessions belong to the request: whatever fails, they go back.

The request's transaction is opened here once (`transaction()`): by the access guard
(web/guards.py), which resolves the caller in it, or else by `provide_db_session`
(web/deps.py), which hands it to the handler and, once the handler returned, commits it
before the response is sent. That alone is not enough:
Litestar unwinds a generator dependency only after every dependency of the handler
resolved (`KwargsModel.resolve_dependencies` hands its cleanup group back last), so a
dependency or parameter failing after the session was opened (a malformed
`?department=`, a bad bearer token) would leave its connection checked out until the
garbage collector found it, and enough such requests starve every tenant.

`RequestSessionsMiddleware` owns every session a request opened. Before the response
starts, and again when the request ends however it ends (an error, a cancelled task),
it closes each session still open, which rolls back what it did not commit and returns
its connection to the pool. A request that succeeded has committed and closed its
session by then, so this never ends a transaction that was meant to commit.
"""

from __future__ import annotations

import anyio
from litestar.datastructures import State
from litestar.types import Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.logs import get_logger
from closeloop.web.middleware import HttpMiddleware

__all__ = ["RequestSessions", "RequestSessionsMiddleware"]

log = get_logger(__name__)

_SCOPE_KEY = "closeloop.sessions"


class RequestSessions:
    """The database sessions one request opened; `release()` closes those still open."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._open: list[AsyncSession] = []
        self._transaction: AsyncSession | None = None

    @classmethod
    def of(cls, scope: Scope) -> RequestSessions:
        sessions: RequestSessions | None = scope.get("state", {}).get(_SCOPE_KEY)
        if sessions is None:
            raise RuntimeError("no RequestSessionsMiddleware in this app's middleware")
        return sessions

    def open(self) -> AsyncSession:
        factory: async_sessionmaker[AsyncSession] = self._state.sessionmaker
        session = factory()
        self._open.append(session)
        return session

    async def transaction(self) -> AsyncSession:
        """The request's own session, begun on first use; later calls return the same one."""
        if self._transaction is None:
            self._transaction = self.open()
            await self._transaction.begin()
        return self._transaction

    async def close(self, session: AsyncSession) -> None:
        """Close `session` (what it did not commit is rolled back) unless already closed."""
        if any(session is s for s in self._open):
            self._open = [s for s in self._open if s is not session]
            await _close(session)

    async def release(self) -> None:
        """Close every session still open."""
        while self._open:
            await _close(self._open.pop())


async def _close(session: AsyncSession) -> None:
    try:
        await session.close()
    except Exception:
        # The connection is in no state to be reused (e.g. a statement was cut short):
        # drop it rather than hand it back.
        log.warning("closing a database session failed; its connection is dropped", exc_info=True)
        await session.invalidate()


class RequestSessionsMiddleware(HttpMiddleware):
    """Give each HTTP request a `RequestSessions` and close what it leaves open."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        sessions = RequestSessions(scope["litestar_app"].state)
        scope.setdefault("state", {})[_SCOPE_KEY] = sessions

        async def send_released(message: Message) -> None:
            if message["type"] == "http.response.start":
                await sessions.release()  # only an error response finds one still open
            await send(message)

        try:
            await self.app(scope, receive, send_released)
        finally:
            with anyio.CancelScope(shield=True):
                await sessions.release()
