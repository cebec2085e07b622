"""Test actors and helpers for the queue tests.

The test actors' only effect is an audit entry written in `actor_transaction()`, so
"the effect happened once" is a count in the database, committed together with the
processed-message record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import dramatiq
import structlog
from dramatiq.middleware import Middleware
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.audit.service import record
from closeloop.db import sessionmaker, transaction
from closeloop.queue import actor_transaction, closeloop_actor, enqueue, runtime
from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker
from closeloop.queue.models import DeadLetter, OutboxMessage, ProcessedMessage
from closeloop.settings import Settings

EFFECT = "queue_test.effect"
RUNS: list[str] = []  # message ids of every attempt of the poisoned and refusing actors


class Refused(Exception):
    """Declared in `throws`: never retried."""


@closeloop_actor(
    actor_name="queue_test_record_effect", queue_name="queue-test", max_retries=3, time_limit=20_000
)
async def record_effect(*, tenant_id: str, message_id: str, note: str = "") -> None:
    async with actor_transaction() as session:
        await record(
            session, actor="queue-test", action=EFFECT, entity_type="test", after={"note": note}
        )


@closeloop_actor(
    actor_name="queue_test_poisoned",
    queue_name="queue-test",
    max_retries=2,
    time_limit=20_000,
    min_backoff=20,
    max_backoff=100,
)
async def poisoned(*, tenant_id: str, message_id: str, case_id: str) -> None:
    RUNS.append(message_id)
    raise ValueError(f"case {case_id} cannot be handled")


@closeloop_actor(
    actor_name="queue_test_refusing",
    queue_name="queue-test",
    max_retries=5,
    time_limit=20_000,
    throws=(Refused,),
)
async def refusing(*, tenant_id: str, message_id: str) -> None:
    RUNS.append(message_id)
    raise Refused("this job can never succeed")


CONTEXTS: list[dict[str, Any]] = []  # log context seen inside queue_test_log_context


@closeloop_actor(
    actor_name="queue_test_log_context", queue_name="queue-test", max_retries=0, time_limit=20_000
)
async def log_context(*, tenant_id: str, message_id: str) -> None:
    CONTEXTS.append(structlog.contextvars.get_contextvars())


@closeloop_actor(
    actor_name="queue_test_slow", queue_name="queue-test", max_retries=0, time_limit=100
)
async def slow(*, tenant_id: str, message_id: str) -> None:
    async with actor_transaction() as session:
        await record(session, actor="queue-test", action=EFFECT, entity_type="test")
        await asyncio.sleep(30)


async def enqueue_committed(
    engine: AsyncEngine,
    tenant_id: uuid.UUID,
    actor_name: str,
    *,
    delay_ms: int | None = None,
    **kwargs: object,
) -> OutboxMessage:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return await enqueue(session, actor_name, tenant_id=tenant_id, delay_ms=delay_ms, **kwargs)


async def effects(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return int(
            (
                await session.execute(select(func.count()).where(AuditEntry.action == EFFECT))
            ).scalar_one()
        )


async def processed(engine: AsyncEngine, tenant_id: uuid.UUID) -> int:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return int(
            (await session.execute(select(func.count()).select_from(ProcessedMessage))).scalar_one()
        )


async def processed_ids(engine: AsyncEngine, tenant_id: uuid.UUID) -> set[uuid.UUID]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return set((await session.scalars(select(ProcessedMessage.id))).all())


async def outbox(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[OutboxMessage]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return list((await session.scalars(select(OutboxMessage))).all())


async def dead_letters(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[DeadLetter]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        return list((await session.scalars(select(DeadLetter))).all())


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 20.0) -> None:
    """Wait until `check()` holds (workers run on their own threads)."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


class Seen(Middleware):
    """Records the id of every message a worker finished with, whatever the outcome."""

    def __init__(self) -> None:
        self.message_ids: list[str] = []

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self.message_ids.append(message.message_id)

    def count(self, message_id: object) -> int:
        return self.message_ids.count(str(message_id))


@contextlib.asynccontextmanager
async def running_worker(
    app_url: str, config: BrokerConfig, *, settings: Settings, threads: int = 2
) -> AsyncIterator[tuple[dramatiq.Broker, Seen]]:
    """A broker for `config` and a `dramatiq.Worker` consuming it (its actors using
    `settings`), stopped on exit."""
    runtime.configure(app_url, settings=settings, pool_size=threads)
    broker = make_broker(config)
    seen = Seen()
    broker.add_middleware(seen)
    worker = await asyncio.to_thread(start_worker, broker, threads=threads, timeout_ms=100)
    try:
        yield broker, seen
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        broker.close()
        runtime.reset()
