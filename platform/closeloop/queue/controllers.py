"""Operators' HTTP view of background work: `GET /platform/v1/dead-letters`."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from closeloop.identity.access import operator
from closeloop.queue.dead_letters import MAX_LIMIT, DeadLetterRead, list_dead_letters
from closeloop.times import ClientTime
from closeloop.web.deps import DbSession

__all__ = ["DeadLetterController"]


class DeadLetterController(Controller):
    path = "/platform/v1/dead-letters"
    opt = operator()
    tags = ["platform"]

    @get("/")
    async def list_dead_letters(
        self,
        db_session: DbSession,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 100,
        before: FromQuery[ClientTime | None] = None,
    ) -> list[DeadLetterRead]:
        """Messages that failed for good, newest first, across tenants; `before` pages on."""
        return await list_dead_letters(db_session, limit=limit, before=before)
