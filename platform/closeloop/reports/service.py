"""`ReportService`: every metric of docs/reports.md, and the cases behind each figure.

Obtain one from `closeloop.reports.deps.provide_report_service` (API, console, CLI,
e-mail all do), so the caller's department scope applies everywhere the same way: a
caller who is not an admin and whose user has a department sees only cases whose lead
department is that department (`scope`).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.schemas import CaseSummary
from closeloop.db import required_tenant
from closeloop.identity.principal import Principal
from closeloop.reports.schemas import ReportQuery, Summary
from closeloop.settings import Settings

__all__ = ["MAX_CASES_LIMIT", "ReportService"]

MAX_CASES_LIMIT = 200


class ReportService:
    def __init__(
        self, session: AsyncSession, *, principal: Principal | None, settings: Settings
    ) -> None:
        """`principal` None: the system (CLI, scheduled e-mail), the whole tenant."""
        self.session = session
        self.principal = principal
        self.settings = settings
        self.tenant_id = required_tenant(session, "ReportService")

    async def scope(self) -> uuid.UUID | None:
        """The department the caller is limited to, or None for the whole tenant."""
        raise NotImplementedError

    async def summary(self, query: ReportQuery) -> Summary:
        """Every metric of `METRICS` over `query`, with the previous period."""
        raise NotImplementedError

    async def cases(
        self,
        metric: str,
        query: ReportQuery,
        *,
        key: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[CaseSummary], str | None]:
        """The cases counted by `metric`'s figure over `query` (or by its row or trend
        point `key`), newest received first, and the next page's cursor.
        404 for an unknown metric, 422 (field `key`) for a key the metric has not."""
        raise NotImplementedError
