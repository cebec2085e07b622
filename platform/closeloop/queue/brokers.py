"""The broker for the settings: RabbitMQ (`amqp://`), Redis (`redis://`), or in-process.

Every broker gets the same middleware, in this order (Dramatiq runs `before_*` hooks in
list order and `after_*` hooks in reverse):

* `AgeLimit`, `TimeLimit`, `ShutdownNotifications`, `CurrentMessage`;
* `DeadLetters` before `Retries`, so it sees a message after `Retries` decided whether it
  failed for good, and writes the `dead_letters` record;
* `Retries` with exponential backoff between the settings' minimum and maximum;
* `AsyncIO` (the worker's event loop thread, where actors run) and `WorkerDatabase`
  after it, so the engine is disposed before the loop stops.

The in-process broker is Dramatiq's `StubBroker` driven by a `dramatiq.Worker` inside the
app process (`closeloop.queue.inprocess`): the embedded default needs nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from typing import Any
from urllib.parse import urlsplit

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    AsyncIO,
    CurrentMessage,
    Middleware,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from closeloop.db import transaction
from closeloop.logs import get_logger
from closeloop.queue import runtime
from closeloop.queue.actors import bind_actors
from closeloop.queue.models import DeadLetter
from closeloop.settings import Settings

__all__ = ["BrokerConfig", "DeadLetters", "WorkerDatabase", "make_broker", "start_worker"]

log = get_logger(__name__)

DEFAULT_MAX_RETRIES = 10
_ERROR_LIMIT = 8000


@dataclasses.dataclass(frozen=True, slots=True)
class BrokerConfig:
    url: str | None = None
    queue_prefix: str = ""
    min_backoff_ms: int = 15_000
    max_backoff_ms: int = 3_600_000

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerConfig:
        return cls(
            url=settings.broker_url,
            queue_prefix=settings.queue_prefix,
            min_backoff_ms=settings.retry_min_backoff_ms,
            max_backoff_ms=settings.retry_max_backoff_ms,
        )

    @property
    def kind(self) -> str:
        if self.url is None:
            return "in-process"
        return "rabbitmq" if urlsplit(self.url).scheme.startswith("amqp") else "redis"


class DeadLetters(Middleware):
    """Writes a `dead_letters` record for every message that failed for good."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if not message.failed:
            return
        actor = broker.get_actor(message.actor_name)
        throws = message.options.get("throws") or actor.options.get("throws")
        reason = "not_retried" if throws and isinstance(exception, throws) else "retries_exhausted"
        self._record(message, reason, exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        if message.failed:
            self._record(message, "too_old", None)

    def after_nack(self, broker: dramatiq.Broker, message: Any) -> None:
        # The in-process broker keeps every rejected message in a list for tests to look
        # at; in a long-running app that list only grows. The record is in the database.
        if isinstance(broker, StubBroker):
            letters = broker.dead_letters_by_queue.get(message.queue_name)
            if letters and letters[-1] is message:
                letters.pop()

    def _record(self, message: Any, reason: str, exception: BaseException | None) -> None:
        error = f"{type(exception).__name__}: {exception}" if exception is not None else reason
        trace = message.options.get("traceback")
        if trace and exception is not None:
            error = f"{error}\n\n{trace}"
        kwargs = dict(message.kwargs)
        try:
            tenant_id = uuid.UUID(str(kwargs.pop("tenant_id")))
            message_id = uuid.UUID(message.message_id)
        except (KeyError, ValueError):
            log.error(
                "dead message without a tenant or a message id; not recorded",
                actor_name=message.actor_name,
                message_id=message.message_id,
                error=error[:500],
            )
            return
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            log.error(
                "no worker event loop; dead letter not recorded", message_id=message.message_id
            )
            return
        record = DeadLetter(
            tenant_id=tenant_id,
            id=message_id,
            message_id=message_id,
            actor_name=message.actor_name,
            queue_name=message.queue_name,
            args=kwargs,
            reason=reason,
            retries=int(message.options.get("retries", 0)),
            error=error[:_ERROR_LIMIT],
        )
        try:
            loop_thread.run_coroutine(_store(record))
        except Exception:
            log.exception("dead letter not recorded", message_id=message.message_id)
            return
        log.warning(
            "message dead-lettered",
            actor_name=message.actor_name,
            message_id=message.message_id,
            tenant_id=str(tenant_id),
            reason=reason,
        )


async def _store(record: DeadLetter) -> None:
    from sqlalchemy.dialects.postgresql import insert

    factory = runtime.current().sessionmaker()
    values = {
        c.key: getattr(record, c.key) for c in DeadLetter.__table__.columns if c.key != "created_at"
    }
    async with transaction(factory, record.tenant_id) as session:
        await session.execute(insert(DeadLetter).values(**values).on_conflict_do_nothing())


class WorkerDatabase(Middleware):
    """Disposes of the worker's engine on its loop before the `AsyncIO` middleware stops it."""

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return
        # No worker database configured, or the loop already gone: nothing to dispose of.
        with contextlib.suppress(RuntimeError):
            loop_thread.run_coroutine(runtime.current().dispose_current_loop())


def _middleware(config: BrokerConfig) -> list[Middleware]:
    return [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        CurrentMessage(),
        DeadLetters(),
        Retries(
            max_retries=DEFAULT_MAX_RETRIES,
            min_backoff=config.min_backoff_ms,
            max_backoff=config.max_backoff_ms,
        ),
        AsyncIO(),
        WorkerDatabase(),
    ]


def make_broker(config: BrokerConfig) -> dramatiq.Broker:
    """A new broker for `config` with every registered actor declared on it."""
    middleware = _middleware(config)
    broker: dramatiq.Broker
    if config.url is None:
        broker = StubBroker(middleware=middleware)
    elif config.kind == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Publisher confirms: the relay marks a row sent only once RabbitMQ has it.
        broker = RabbitmqBroker(url=config.url, middleware=middleware, confirm_delivery=True)
    else:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=config.url, middleware=middleware, namespace="closeloop")  # type: ignore[no-untyped-call]
    bind_actors(broker, queue_prefix=config.queue_prefix)
    return broker


def start_worker(
    broker: dramatiq.Broker, *, threads: int, timeout_ms: int = 1000
) -> dramatiq.Worker:
    """Start a `dramatiq.Worker` on `broker` the way Dramatiq's own command does.

    The `process_boot` signal comes first: without it the `TimeLimit` and
    `ShutdownNotifications` middleware never start their watcher, and time limits would
    silently not apply. Call once per broker.
    """
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=timeout_ms)
    worker.start()
    return worker
