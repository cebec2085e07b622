"""What `closeloop worker`, `closeloop scheduler` and `closeloop dead-letters` run.

Both long-running commands stop cleanly on Ctrl-C or SIGTERM: the worker finishes the
messages in hand (unacknowledged ones go back to the broker), the scheduler finishes
its current relay batch.
"""

from __future__ import annotations

import asyncio
import signal
import threading

import dramatiq

from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.logs import get_logger
from closeloop.queue import runtime
from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker
from closeloop.queue.dead_letters import DeadLetterRead, list_dead_letters
from closeloop.queue.scheduler import run_scheduler
from closeloop.settings import Settings

__all__ = ["dead_letters", "run_scheduler_process", "run_worker_process"]

log = get_logger(__name__)


def run_worker_process(settings: Settings, app_url: str) -> None:
    """Consume the configured broker until SIGINT or SIGTERM."""
    config = BrokerConfig.from_settings(settings)
    runtime.configure(app_url, settings=settings, pool_size=settings.worker_threads)
    broker = make_broker(config)
    dramatiq.set_broker(broker)
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        log.info("stopping the worker", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker = start_worker(broker, threads=settings.worker_threads)
        log.info(
            "worker started",
            broker=config.kind,
            queues=sorted(broker.get_declared_queues()),
            threads=settings.worker_threads,
        )
        while not stop.wait(0.5):
            pass
        worker.stop()
    finally:
        broker.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("worker stopped")


async def _scheduler(settings: Settings, app_url: str) -> None:
    config = BrokerConfig.from_settings(settings)
    engine = create_engine(app_url, pool_size=3)
    broker = make_broker(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("scheduler started", broker=config.kind)
    try:
        await run_scheduler(engine, broker, stop, queue_prefix=config.queue_prefix)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        broker.close()
        await engine.dispose()
    log.info("scheduler stopped")


def run_scheduler_process(settings: Settings, app_url: str) -> None:
    """Relay the outbox and fan out periodic sweeps until SIGINT or SIGTERM."""
    asyncio.run(_scheduler(settings, app_url))


async def dead_letters(app_url: str, *, limit: int) -> list[DeadLetterRead]:
    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            return await list_dead_letters(session, limit=limit)
    finally:
        await engine.dispose()
