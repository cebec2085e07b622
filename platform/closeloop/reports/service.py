"""`ReportService`: every metric of docs/reports.md, and the cases behind each figure.

Obtain one from `closeloop.reports.deps.provide_report_service` (API, console, CLI,
e-mail all do), so the caller's department scope applies everywhere the same way: a
caller who is not an admin and whose user has a department sees only cases whose lead
department is that department (`scope`).

A filter naming a department, handler or category by id that is not the tenant's (an
unknown id, or another tenant's: the same answer) is 404, as every id of another tenant
is, not an empty report. The row labels (channel, category, department, kind, ...) are
in the tenant's language unless the caller asks for another (`locale`: the scheduled
e-mail asks for its schedule's).
"""

from __future__ import annotations

import uuid
import zoneinfo

from sqlalchemy import select

from closeloop.cases.models import Case
from closeloop.cases.schemas import CaseSummary
from closeloop.cases.views import case_summaries
from closeloop.config import current
from closeloop.crud import TenantCallerService
from closeloop.db import utcnow
from closeloop.errors import NotFound, UnprocessableEntity
from closeloop.identity.models import Role, User
from closeloop.paging import after, page
from closeloop.reports.engine import Engine, report_settings
from closeloop.reports.models import CaseFacts
from closeloop.reports.schemas import METRICS, Metric, Period, ReportQuery, Summary
from closeloop.reports.scope import Labels, Scope, category_subtree, load_labels
from closeloop.reports.special import DEFINITIONS

__all__ = ["MAX_CASES_LIMIT", "ReportService"]

MAX_CASES_LIMIT = 200


def _change(value: object, previous: object) -> int | float | None:
    if isinstance(value, int | float) and isinstance(previous, int | float):
        return round(value - previous, 6)
    return None


def _check_ids(query: ReportQuery, labels: Labels) -> None:
    """404 for a filter's department, handler or category id the tenant has not."""
    f = query.filters
    if f.department is not None and str(f.department) not in labels.department:
        raise NotFound(f"no department {f.department}")
    if f.handler is not None and str(f.handler) not in labels.user:
        raise NotFound(f"no user {f.handler}")
    if f.category is not None:
        try:
            category_id = uuid.UUID(f.category)
        except ValueError:
            return  # a code: category_subtree says 422 when there is none
        if category_id not in labels.category_by_id:
            raise NotFound(f"no category {category_id}")


class ReportService(TenantCallerService):
    """`principal` None: the system (CLI, scheduled e-mail), the whole tenant."""

    async def scope(self) -> uuid.UUID | None:
        """The department the caller is limited to, or None for the whole tenant."""
        principal = self.principal
        if principal is None or principal.user_id is None or principal.has_role(Role.ADMIN):
            return None
        return await self.session.scalar(
            select(User.department_id).where(User.id == principal.user_id)
        )

    async def _engine(self, query: ReportQuery, locale: str | None = None) -> Engine:
        await report_settings(self.session)
        tenant = await current.tenant(self.session)
        labels = await load_labels(self.session, locale or tenant.locale)
        _check_ids(query, labels)
        categories = None
        if query.filters.category is not None:
            categories = category_subtree(labels, query.filters.category)
        scope = Scope(
            zone=zoneinfo.ZoneInfo(tenant.timezone),
            department=await self.scope(),
            filters=query.filters,
            category_ids=categories,
        )
        return Engine(self.session, scope, labels, utcnow())

    async def summary(
        self, query: ReportQuery, *, locale: str | None = None, merged: bool = True
    ) -> Summary:
        """Every metric of `METRICS` over `query`, with the previous period; row labels
        in `locale` (`zh-CN`, `en`; default the tenant's).

        Every metric of both periods runs side by side and their aggregates go to the
        database together, few statements for all (`closeloop.reports.batch`).
        `merged=False`: one metric after the other and one statement per aggregate
        request, the plain way the merged statements are checked against."""
        engine = await self._engine(query, locale)
        engine.merge = merged
        previous = query.previous()
        computing = [
            DEFINITIONS[name].compute(engine, period, period is query)
            for name in METRICS
            for period in (query, previous)
        ]
        if merged:
            computed = await engine.gather(computing)
        else:
            computed = [await each for each in computing]
        metrics: dict[str, Metric] = {}
        for index, name in enumerate(METRICS):
            metric, before = computed[2 * index], computed[2 * index + 1]
            metric.previous = before.value
            metric.change = _change(metric.value, before.value)
            metrics[name] = metric
        zone = engine.scope.zone.key
        return Summary(
            period=Period(query.date_from, query.date_to, query.days, zone),
            previous_period=Period(previous.date_from, previous.date_to, previous.days, zone),
            group_by=query.group_by,
            filters=query.filters,
            metrics=metrics,
            generated_at=engine.now,
        )

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
        definition = DEFINITIONS.get(metric)
        if definition is None:
            raise NotFound(f"no metric {metric!r}; metrics are {', '.join(METRICS)}")
        if key is not None and not key.strip():
            raise UnprocessableEntity("key is empty", field="key")
        limit = max(1, min(limit, MAX_CASES_LIMIT))
        engine = await self._engine(query)
        population = definition.population(engine, key)
        ids = (
            select(CaseFacts.id)
            .select_from(population.source)
            .where(
                *engine.scope.cases(),
                engine.scope.period(population.dated, query),
                *population.where,
            )
        )
        statement = select(Case).where(Case.id.in_(ids))
        statement = after(statement, (Case.received_at, Case.id), cursor, descending=True)
        statement = statement.order_by(Case.received_at.desc(), Case.id.desc()).limit(limit + 1)
        found = (await self.session.scalars(statement)).all()
        rows, next_cursor = page(found, limit, lambda case: (case.received_at, case.id))
        return await case_summaries(self.session, self.settings, self.principal, rows), next_cursor
