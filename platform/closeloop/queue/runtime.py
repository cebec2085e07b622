"""The worker's setup: its settings and its database, one engine per event loop.

Actors run on the worker's event loop thread (Dramatiq's AsyncIO middleware), never on
the web app's loop, and a connection pool must stay on one loop. `configure()` is called
once per process by whatever starts a worker (`closeloop worker`, the in-process runner,
a test) with the `Settings` that process built; `sessionmaker()` is called on the loop
that will use it. Actors read the settings as `current_message().settings` and pass
them on explicitly (to services, through their providers); nothing else keeps a copy.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from closeloop.db import create_engine
from closeloop.db import sessionmaker as make_sessionmaker
from closeloop.settings import Settings

__all__ = ["WorkerDatabase", "configure", "current", "reset"]


class WorkerDatabase:
    """The worker's database URL and pool size, and the settings its actors use."""

    def __init__(self, url: str, *, settings: Settings, pool_size: int = 5) -> None:
        self.url = url
        self.settings = settings
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


def configure(url: str, *, settings: Settings, pool_size: int = 5) -> WorkerDatabase:
    """Point this process's actors at `url` (the application role's URL), with `settings`."""
    global _database
    _database = WorkerDatabase(url, settings=settings, pool_size=pool_size)
    return _database


def current() -> WorkerDatabase:
    if _database is None:
        raise RuntimeError("no worker database: call closeloop.queue.runtime.configure(url) first")
    return _database


def reset() -> None:
    global _database
    _database = None
