"""Operations: liveness, readiness (the database answers) and Prometheus metrics.

Readiness asks the database on a connection of its own, outside the request pool: a
pool that is busy serving requests (or starved) neither delays the answer nor turns it
into "not ready" (busy requests are answered 503 with `Retry-After` on their own),
while a database that cannot be reached does, within `PROBE_TIMEOUT_SECONDS`. However
often it is called, one probe at a time runs per app process and an answer is reused for
`PROBE_REUSE_SECONDS`, so the endpoint cannot be used to flood the database with
connections.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from closeloop.identity.access import public

__all__ = ["HealthController", "ReadinessProbe"]

PROBE_TIMEOUT_SECONDS = 3.0
PROBE_REUSE_SECONDS = 1.0


class ReadinessProbe:
    """`SELECT 1` on a new connection, one at a time, its answer reused for a moment."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = create_async_engine(
            engine.url,
            poolclass=NullPool,
            connect_args={
                "timeout": PROBE_TIMEOUT_SECONDS,
                "command_timeout": PROBE_TIMEOUT_SECONDS,
                "server_settings": {"application_name": "closeloop-ready"},
            },
        )
        self._running: asyncio.Task[str | None] | None = None
        self._answer: tuple[float, str | None] | None = None

    async def problem(self) -> str | None:
        """None when the database answers, else what went wrong (the exception's type)."""
        if self._answer is not None and time.monotonic() - self._answer[0] < PROBE_REUSE_SECONDS:
            return self._answer[1]
        if self._running is None or self._running.done():
            self._running = asyncio.create_task(self._probe())
        return await asyncio.shield(self._running)

    async def _probe(self) -> str | None:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS), self._engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            found = None
        except Exception as exc:
            found = type(exc).__name__
        self._answer = (time.monotonic(), found)
        return found

    async def dispose(self) -> None:
        await self._engine.dispose()


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]
    opt = public("load balancers and orchestrators probe it")

    @get("/live", media_type=MediaType.JSON)
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", media_type=MediaType.JSON)
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        probe: ReadinessProbe | None = state.get("readiness_probe")
        if probe is None:
            probe = state.readiness_probe = ReadinessProbe(state.engine)
        problem = await probe.problem()
        if problem is not None:
            return Response(
                {"status": "unavailable", "database": problem},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return Response({"status": "ok", "database": "ok"})
