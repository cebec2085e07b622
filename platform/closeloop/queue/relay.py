"""The relay: committed outbox rows to the broker, then marked sent.

One batch is one transaction of the application role:

1. `closeloop_outbox_claim(n)` locks up to n due pending rows of any tenant
   (`FOR UPDATE SKIP LOCKED`, so several relays share the work without sending a row
   twice at the same time);
2. each row becomes a Dramatiq message whose id is the row's id, and is handed to the
   broker (with publisher confirms on RabbitMQ);
3. `closeloop_outbox_mark_sent(...)` marks them, and the transaction commits.

A relay that dies between 2 and 3 leaves the rows pending and unlocked: the next run
sends them again with the same message ids, and the actors' processed-message check
makes the second delivery a no-op (exactly once in effect).

Why SECURITY DEFINER functions rather than iterating tenants: the relay runs every
second and on every commit; its cost should follow the pending rows, not the number of
tenants, and one `SKIP LOCKED` claim across tenants lets relays run side by side. The
functions are owned by the migration role, return only queue columns (actors receive
ids, not data), are executable by the application role alone, and pass RLS through a
policy that holds only while they run; the tables keep FORCE ROW LEVEL SECURITY.

The relay sleeps on PostgreSQL `LISTEN closeloop_outbox` (a trigger on the outbox table
notifies in the producer's transaction, so only commits wake it) with a polling
fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import time
from collections.abc import Sequence
from typing import Any

import dramatiq
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from closeloop.db import sessionmaker, transaction, utcnow
from closeloop.logs import get_logger
from closeloop.queue.outbox import NOTIFY_CHANNEL

__all__ = ["Relay", "prune"]

log = get_logger(__name__)

_CLAIM = text("SELECT * FROM closeloop_outbox_claim(:max_rows)")
_MARK = text("SELECT closeloop_outbox_mark_sent(CAST(:tenant_ids AS uuid[]), CAST(:ids AS uuid[]))")
_NEXT_DUE = text("SELECT closeloop_outbox_next_due()")
_PRUNE = text("SELECT closeloop_queue_prune(make_interval(days => :days))")


class Relay:
    def __init__(
        self,
        engine: AsyncEngine,
        broker: dramatiq.Broker,
        *,
        queue_prefix: str = "",
        batch_size: int = 100,
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker(engine)
        self.broker = broker
        self.queue_prefix = queue_prefix
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def message(self, row: Any) -> dramatiq.Message[Any]:
        """The Dramatiq message of an outbox row (a claimed row or an `OutboxMessage`)."""
        options = {"request_id": row.request_id} if row.request_id else {}
        args = json.loads(row.args) if isinstance(row.args, str) else dict(row.args)
        return dramatiq.Message(
            queue_name=self.queue_prefix + row.queue_name,
            actor_name=row.actor_name,
            args=(),
            kwargs={**args, "tenant_id": str(row.tenant_id)},
            options=options,
            message_id=str(row.id),
            message_timestamp=int(time.time() * 1000),
        )

    def _send(self, messages: list[dramatiq.Message[Any]]) -> None:
        for message in messages:
            self.broker.enqueue(message)

    async def mark_sent(self, session: AsyncSession, rows: Sequence[Row[Any]]) -> None:
        await session.execute(
            _MARK,
            {"tenant_ids": [str(r.tenant_id) for r in rows], "ids": [str(r.id) for r in rows]},
        )

    async def run_once(self) -> int:
        """Send one batch; the number of messages handed to the broker."""
        async with transaction(self.sessionmaker) as session:
            rows = (await session.execute(_CLAIM, {"max_rows": self.batch_size})).all()
            if not rows:
                return 0
            await asyncio.to_thread(self._send, [self.message(row) for row in rows])
            await self.mark_sent(session, rows)
        log.debug("outbox relayed", messages=len(rows))
        return len(rows)

    async def drain(self) -> int:
        """Send batches until no due row is left."""
        total = 0
        while True:
            sent = await self.run_once()
            total += sent
            if sent < self.batch_size:
                return total

    async def _seconds_to_next_due(self) -> float:
        async with transaction(self.sessionmaker) as session:
            due: dt.datetime | None = (await session.execute(_NEXT_DUE)).scalar_one()
        if due is None:
            return self.poll_seconds
        return max(0.0, min(self.poll_seconds, (due - utcnow()).total_seconds()))

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def _listen(self) -> AsyncConnection | None:
        try:
            connection = await self.engine.connect()
            raw = await connection.get_raw_connection()
            await raw.driver_connection.add_listener(NOTIFY_CHANNEL, self.wake)  # type: ignore[union-attr]
        except Exception:
            log.warning("cannot LISTEN for the outbox; polling only", exc_info=True)
            return None
        return connection

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until `stop` is set: on every notification, and every `poll_seconds`."""
        listener = await self._listen()
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    await self.drain()
                    timeout = await self._seconds_to_next_due()
                except Exception:
                    log.exception("outbox relay failed; retrying")
                    timeout = self.poll_seconds * 5
                if listener is None or listener.closed or listener.invalidated:
                    listener = await self._listen()
                waiters = {
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wake.wait()),
                }
                _, pending = await asyncio.wait(
                    waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
        finally:
            if listener is not None:
                with contextlib.suppress(Exception):
                    # Drop the connection rather than pool it with our listener attached.
                    await listener.invalidate()
                    await listener.close()


async def prune(engine: AsyncEngine, *, keep_days: int = 7) -> int:
    """Delete sent outbox rows and processed-message records older than `keep_days`."""
    async with transaction(sessionmaker(engine)) as session:
        removed = int((await session.execute(_PRUNE, {"days": keep_days})).scalar_one())
    if removed:
        log.info("queue tables pruned", rows=removed)
    return removed
