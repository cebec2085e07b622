"""HTTP for reports: the summary, the cases behind a figure, the order volumes.

Who: admins, supervisors and viewers; a caller with a department who is not an admin
sees only that department (applied inside `ReportService`). docs/reports.md defines
every figure.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from closeloop.cases.schemas import CaseSummary
from closeloop.errors import UnprocessableEntity
from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.reports.deps import provide_order_volumes, provide_report_service
from closeloop.reports.orders import OrderVolumeIn, OrderVolumeRead, OrderVolumeService
from closeloop.reports.params import report_query
from closeloop.reports.schemas import GROUP_BY, CaseList, ReportQuery, Summary
from closeloop.reports.service import MAX_CASES_LIMIT, ReportService
from closeloop.tenancy.models import Tenant
from closeloop.web.deps import Caller, DbSession

__all__ = ["ReportController", "provide_report_query"]

_DAY = {"format": "date"}


async def provide_report_query(
    db_session: DbSession,
    principal: Caller,
    date_from: Annotated[
        str | None,
        QueryParameter(name="from", description="first day, inclusive", schema_extra=_DAY),
    ] = None,
    date_to: Annotated[
        str | None,
        QueryParameter(name="to", description="last day, inclusive", schema_extra=_DAY),
    ] = None,
    period: Annotated[
        str | None,
        QueryParameter(
            description="instead of from/to: 2026-10, 2026-W41, 2026-10-03 or 2026",
            max_length=10,
        ),
    ] = None,
    group_by: Annotated[
        str | None, QueryParameter(description=" | ".join(GROUP_BY), max_length=16)
    ] = None,
    channel: Annotated[
        str | None, QueryParameter(description="channel code", max_length=64)
    ] = None,
    kind: Annotated[str | None, QueryParameter(description="case kind", max_length=32)] = None,
    category: Annotated[
        str | None,
        QueryParameter(description="category code or id, with its subtree", max_length=64),
    ] = None,
    severity: Annotated[
        str | None, QueryParameter(description="severity code", max_length=64)
    ] = None,
    department: Annotated[
        str | None, QueryParameter(description="lead department id", max_length=64)
    ] = None,
    handler: Annotated[
        str | None, QueryParameter(description="handler's user id", max_length=64)
    ] = None,
) -> ReportQuery:
    """The report's period (default: this month so far, in the tenant's time zone),
    grouping and filters (docs/reports.md); 422 naming the parameter at fault."""
    # An empty value is a mistake in the request, not "not given" (the schema says date).
    for name, value, example in (
        ("from", date_from, "2026-10-01"),
        ("to", date_to, "2026-10-31"),
        ("period", period, "2026-10"),
    ):
        if value == "":
            raise UnprocessableEntity(f"{name} is empty: give one such as {example}", field=name)
    tenant = await db_session.get(Tenant, principal.tenant_id)
    zone = zoneinfo.ZoneInfo(tenant.timezone if tenant else "UTC")
    return report_query(
        today=dt.datetime.now(zone).date(),
        date_from=date_from,
        date_to=date_to,
        period=period,
        group_by=group_by,
        channel=channel,
        kind=kind,
        category=category,
        severity=severity,
        department=department,
        handler=handler,
    )


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ("reports",)
    opt = access(Role.ADMIN, Role.SUPERVISOR, Role.VIEWER)
    dependencies = {
        "reports": Provide(provide_report_service, sync_to_thread=False),
        "orders": Provide(provide_order_volumes, sync_to_thread=False),
        "report_query": Provide(provide_report_query),
    }

    @get("/summary")
    async def summary(
        self, reports: NamedDependency[ReportService], report_query: NamedDependency[ReportQuery]
    ) -> Summary:
        """Every metric of docs/reports.md over the period, with the previous period."""
        return await reports.summary(report_query)

    @get("/order-volumes")
    async def list_order_volumes(
        self, orders: NamedDependency[OrderVolumeService]
    ) -> list[OrderVolumeRead]:
        """The order volumes recorded (the complaint rate's denominator)."""
        return await orders.list()

    @put("/order-volumes/{date_from:date}/{date_to:date}", opt=access(Role.ADMIN, Role.SUPERVISOR))
    async def put_order_volume(
        self,
        orders: NamedDependency[OrderVolumeService],
        date_from: FromPath[dt.date],
        date_to: FromPath[dt.date],
        data: JSONBody[OrderVolumeIn],
    ) -> OrderVolumeRead:
        """Record the orders taken on those days (both inclusive)."""
        return await orders.put(date_from, date_to, data.orders)

    @get("/{metric:str}/cases")
    async def metric_cases(
        self,
        reports: NamedDependency[ReportService],
        report_query: NamedDependency[ReportQuery],
        metric: FromPath[str],
        key: Annotated[
            str | None,
            QueryParameter(
                description="a row or trend point of the figure: channel:web, day:2026-10-03, "
                "on_time_rate:resolution:breached, ...",
                max_length=300,
            ),
        ] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=200)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_CASES_LIMIT)] = 50,
    ) -> CaseList:
        """The cases behind one figure (or one of its rows or trend points), newest
        received first; pass `next_cursor` as `cursor` for more. 404 for an unknown
        metric."""
        items: list[CaseSummary]
        items, next_cursor = await reports.cases(
            metric, report_query, key=key, cursor=cursor, limit=limit
        )
        return CaseList(metric=metric, key=key, items=items, next_cursor=next_cursor)
