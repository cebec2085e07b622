"""Declaring actors: `@closeloop_actor(...)` on `async def fn(*, tenant_id, message_id, ...)`.

An actor receives ids, not objects, re-enters the tenant's scope and is idempotent. The
wrapper does the plumbing:

* binds the log context (`request_id` of the request that enqueued the job, `tenant_id`,
  `actor`, `message_id`) for every line the actor logs;
* runs the coroutine on the worker's event loop, with a session factory for the worker
  database (`current_message().sessionmaker`) and the worker's settings
  (`current_message().settings`, which the actor passes on to the services it builds);
* skips a message whose id is already in `processed_messages`, and records the id in the
  SAME transaction as the actor's effects when the actor opens `actor_transaction()`; a
  redelivered message therefore does nothing twice.

    @closeloop_actor(actor_name="send_acknowledgement", queue_name="notify",
                     max_retries=5, time_limit=30_000, throws=(TemplateBroken,))
    async def send_acknowledgement(*, tenant_id: str, message_id: str, case_id: str) -> None:
        async with actor_transaction() as session:   # tenant bound, message claimed
            ...

If the actor never opens `actor_transaction()`, the wrapper records the message after
the actor returned (at-least-once for effects outside the database). An actor that
needs a second transaction uses `tenant_transaction()`, which claims nothing.

Actors are declared on a broker lazily (`bind_actors(broker)`), not at import time:
importing an actor module never creates or connects a broker, and the same declarations
serve RabbitMQ, Redis and the in-process broker.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import dramatiq
import structlog
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import CurrentMessage
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.db import transaction
from closeloop.logs import get_logger
from closeloop.queue import registry, runtime
from closeloop.queue.models import ProcessedMessage
from closeloop.settings import Settings

__all__ = [
    "ActorSpec",
    "AlreadyProcessed",
    "MessageContext",
    "actor_transaction",
    "bind_actors",
    "closeloop_actor",
    "current_message",
    "tenant_transaction",
]

log = get_logger(__name__)

ActorFn = Callable[..., Awaitable[None]]


class AlreadyProcessed(Exception):
    """This message's effects already committed; the wrapper skips it quietly."""


@dataclasses.dataclass
class MessageContext:
    """The message being handled, as the actor's code sees it."""

    tenant_id: uuid.UUID
    message_id: str
    actor_name: str
    sessionmaker: async_sessionmaker[AsyncSession]
    claimed: bool = False
    given_settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """The settings `handle()` was given, else the worker's (`runtime.configure`)."""
        if self.given_settings is not None:
            return self.given_settings
        return runtime.current().settings


_CURRENT: contextvars.ContextVar[MessageContext | None] = contextvars.ContextVar(
    "closeloop_current_message", default=None
)


def current_message() -> MessageContext:
    context = _CURRENT.get()
    if context is None:
        raise RuntimeError("not inside a closeloop actor")
    return context


@contextlib.asynccontextmanager
async def actor_transaction() -> AsyncIterator[AsyncSession]:
    """The actor's transaction: bound to the message's tenant, and recording the message
    as processed in it. Raises `AlreadyProcessed` (handled by the wrapper) when another
    delivery of the same message committed first. Open it once per message."""
    context = current_message()
    if context.claimed:
        raise RuntimeError(
            "actor_transaction() opened twice for one message; use tenant_transaction()"
        )
    context.claimed = True
    async with transaction(context.sessionmaker, context.tenant_id) as session:
        claimed = await session.execute(
            insert(ProcessedMessage)
            .values(
                tenant_id=context.tenant_id,
                id=uuid.UUID(context.message_id),
                actor_name=context.actor_name,
            )
            .on_conflict_do_nothing()
            .returning(ProcessedMessage.id)
        )
        if claimed.first() is None:
            raise AlreadyProcessed(context.message_id)
        yield session


def tenant_transaction() -> contextlib.AbstractAsyncContextManager[AsyncSession]:
    """A plain transaction bound to the message's tenant (claims nothing)."""
    context = current_message()
    return transaction(context.sessionmaker, context.tenant_id)


async def _already_processed(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, message_id: uuid.UUID
) -> bool:
    async with transaction(factory, tenant_id) as session:
        found = await session.execute(
            select(ProcessedMessage.id).where(ProcessedMessage.id == message_id)
        )
        return found.first() is not None


@dataclasses.dataclass(frozen=True, eq=False)
class ActorSpec:
    """A declared actor. `fn` is the undecorated coroutine function."""

    fn: ActorFn
    actor_name: str
    queue_name: str
    max_retries: int
    time_limit: int
    throws: tuple[type[BaseException], ...] = ()
    min_backoff: int | None = None
    max_backoff: int | None = None
    max_age: int | None = None

    def options(self) -> dict[str, Any]:
        """Dramatiq actor options (None means the broker's default)."""
        options: dict[str, Any] = {
            "max_retries": self.max_retries,
            "time_limit": self.time_limit,
            "min_backoff": self.min_backoff,
            "max_backoff": self.max_backoff,
            "max_age": self.max_age,
        }
        if self.throws:
            options["throws"] = self.throws
        return {k: v for k, v in options.items() if v is not None}

    async def handle(
        self,
        *,
        message_id: str,
        kwargs: dict[str, Any],
        request_id: str | None = None,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        settings: Settings | None = None,
    ) -> bool:
        """Handle one delivery; False when it was a duplicate and nothing ran. The
        session factory and settings default to the worker's (`runtime.configure`)."""
        arguments = dict(kwargs)
        tenant_id = uuid.UUID(str(arguments.pop("tenant_id", None)))
        arguments.pop("message_id", None)
        message_uuid = uuid.UUID(message_id)
        factory = sessionmaker or runtime.current().sessionmaker()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=request_id or message_id,
            message_id=message_id,
            tenant_id=str(tenant_id),
            actor=self.actor_name,
        )
        try:
            if await _already_processed(factory, tenant_id, message_uuid):
                log.info("message already processed; skipped")
                return False
            context = MessageContext(
                tenant_id, message_id, self.actor_name, factory, given_settings=settings
            )
            token = _CURRENT.set(context)
            try:
                await self.fn(tenant_id=str(tenant_id), message_id=message_id, **arguments)
                if not context.claimed:
                    async with actor_transaction():
                        pass
            except AlreadyProcessed:
                log.info("message processed by another delivery meanwhile; skipped")
                return False
            finally:
                _CURRENT.reset(token)
            log.debug("message processed")
            return True
        finally:
            structlog.contextvars.clear_contextvars()

    def run_in_worker(self, **kwargs: Any) -> None:
        """What Dramatiq calls on a worker thread: run `handle` on the worker's loop."""
        message = CurrentMessage.get_current_message()
        if message is None:
            raise RuntimeError("the broker lacks the CurrentMessage middleware")
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the broker lacks the AsyncIO middleware")
        loop_thread.run_coroutine(
            self.handle(
                message_id=message.message_id,
                kwargs=kwargs,
                request_id=message.options.get("request_id"),
            )
        )


def closeloop_actor(
    *,
    actor_name: str,
    queue_name: str,
    max_retries: int,
    time_limit: int,
    throws: tuple[type[BaseException], ...] = (),
    min_backoff: int | None = None,
    max_backoff: int | None = None,
    max_age: int | None = None,
) -> Callable[[ActorFn], ActorSpec]:
    """Declare an async actor. `time_limit`, `min_backoff`, `max_backoff` and `max_age` are
    milliseconds; `throws` are exceptions never retried (the message goes straight to
    the dead letters)."""

    def decorate(fn: ActorFn) -> ActorSpec:
        spec = ActorSpec(
            fn=fn,
            actor_name=actor_name,
            queue_name=queue_name,
            max_retries=max_retries,
            time_limit=time_limit,
            throws=tuple(throws),
            min_backoff=min_backoff,
            max_backoff=max_backoff,
            max_age=max_age,
        )
        registry.register(spec)
        return spec

    return decorate


def bind_actors(
    broker: dramatiq.Broker, *, queue_prefix: str = ""
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every registered actor on `broker`, its queue named `queue_prefix + queue_name`."""
    registry.load_actor_modules()
    return {
        spec.actor_name: dramatiq.Actor(
            spec.run_in_worker,
            broker=broker,
            actor_name=spec.actor_name,
            queue_name=queue_prefix + spec.queue_name,
            priority=0,
            options=spec.options(),
        )
        for spec in registry.all_actors()
    }
