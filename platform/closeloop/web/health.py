"""Operations: liveness, readiness (the database answers) and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["HealthController"]


class HealthController(Controller):
    path = "/health"
    tags = ["operations"]

    @get("/live", media_type=MediaType.JSON)
    async def live(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", media_type=MediaType.JSON)
    async def ready(self, state: State) -> Response[dict[str, Any]]:
        engine: AsyncEngine = state.engine
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return Response(
                {"status": "unavailable", "database": type(exc).__name__}, status_code=503
            )
        return Response({"status": "ok", "database": "ok"})
