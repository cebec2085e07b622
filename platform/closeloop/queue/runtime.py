"""The worker side's database: one engine per event loop, made on first use.

Actors run on the worker's event loop thread (Dramatiq's AsyncIO middleware), never on
the web app's loop, and a connection pool must stay on one loop. `configure()` is called
once per process by whatever starts a worker (`closeloop worker`, the in-process runner,
a test); `sessionmaker()` is called on the loop that will use it.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.db import create_engine
from closeloop.db import sessionmaker as make_sessionmaker

__all__ = ["WorkerDatabase", "configure", "current", "reset"]


class WorkerDatabase:
    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        self.pool_size = pool_size
        self._engines: dict[asyncio.AbstractEventLoop, AsyncEngine] = {}

    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        loop = asyncio.get_running_loop()
        engine = self._engines.get(loop)
        if engine is None:
            engine = create_engine(self.url, pool_size=self.pool_size)
            self._engines[loop] = engine
        return make_sessionmaker(engine)

    async def dispose_current_loop(self) -> None:
        engine = self._engines.pop(asyncio.get_running_loop(), None)
        if engine is not None:
            await engine.dispose()


_database: WorkerDatabase | None = None


def configure(url: str, *, pool_size: int = 5) -> WorkerDatabase:
    """Point this process's actors at `url` (the application role's URL)."""
    global _database
    _database = WorkerDatabase(url, pool_size=pool_size)
    return _database


def current() -> WorkerDatabase:
    if _database is None:
        raise RuntimeError("no worker database: call closeloop.queue.runtime.configure(url) first")
    return _database


def reset() -> None:
    global _database
    _database = None
