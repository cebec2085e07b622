"""Background work inside the app process: the embedded default (no BROKER_URL).

`InProcessQueue` runs, next to the web app, Dramatiq's `StubBroker` consumed by a
`dramatiq.Worker` (its own threads and event loop, its own database engine), and the
relay and scheduler as tasks on the app's event loop. Messages live in memory between
relay and worker: one marked sent but not yet handled when the process dies is lost (a
pending outbox row is not). For the single-machine default that is the accepted
trade-off; production runs RabbitMQ, which keeps messages until an actor acknowledged
them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dramatiq
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.logs import get_logger
from closeloop.queue import runtime
from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker
from closeloop.queue.scheduler import run_scheduler
from closeloop.settings import Settings

__all__ = ["InProcessQueue", "background_work"]

log = get_logger(__name__)


class InProcessQueue:
    def __init__(
        self,
        engine: AsyncEngine,
        database_url: str,
        *,
        settings: Settings,
        config: BrokerConfig | None = None,
        worker_threads: int = 4,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.database_url = database_url
        self.settings = settings
        self.config = config or BrokerConfig()
        if self.config.url is not None:
            raise ValueError("the in-process queue runs without BROKER_URL")
        self.worker_threads = worker_threads
        self.poll_seconds = poll_seconds
        self.broker: dramatiq.Broker | None = None
        self.worker: dramatiq.Worker | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: AsyncEngine, database_url: str
    ) -> InProcessQueue:
        return cls(
            engine,
            database_url,
            settings=settings,
            config=BrokerConfig.from_settings(settings),
            worker_threads=settings.worker_threads,
        )

    async def start(self) -> None:
        runtime.configure(
            self.database_url, settings=self.settings, pool_size=max(2, self.worker_threads)
        )
        self.broker = make_broker(self.config)
        self.worker = await asyncio.to_thread(
            start_worker, self.broker, threads=self.worker_threads, timeout_ms=200
        )
        self._stop.clear()
        self._task = asyncio.create_task(
            run_scheduler(
                self.engine,
                self.broker,
                self._stop,
                queue_prefix=self.config.queue_prefix,
                poll_seconds=self.poll_seconds,
            ),
            name="closeloop-scheduler",
        )
        log.info("in-process worker, relay and scheduler started", threads=self.worker_threads)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await self._task
            except Exception:
                log.exception("the in-process scheduler ended with an error")
            self._task = None
        if self.worker is not None:
            await asyncio.to_thread(self.worker.stop, 10_000)
            self.worker = None
        if self.broker is not None:
            self.broker.close()
            self.broker = None
        log.info("in-process worker stopped")


@asynccontextmanager
async def background_work(
    settings: Settings, engine: AsyncEngine, database_url: str | None, *, enabled: bool
) -> AsyncIterator[None]:
    """The app lifespan's part: the in-process queue while the app runs, when `enabled`."""
    if not enabled:
        yield
        return
    if database_url is None:
        raise RuntimeError("the in-process worker needs the database URL, not only an engine")
    queue = InProcessQueue.from_settings(settings, engine, database_url)
    await queue.start()
    try:
        yield
    finally:
        await queue.stop()
