"""The reports dashboard (`/console/reports`) and the cases behind each figure
(`/console/reports/{metric}/cases?key=...`).

For admins, supervisors and viewers, as `GET /api/v1/reports/summary`. The page asks
`ReportService` (from `closeloop.reports.deps`, like the API) for the summary of the
period and filters in its URL, and the cases page asks the same service for the cases
of one figure, so both show what the API answers; a department manager's scope is
applied inside the service. The URL carries the report API's own parameters
(`period` or `from`/`to`, `group_by`, `channel`, `kind`, `category`, `severity`,
`department`, `handler`); without a period the page goes to this month's URL, so
the address always says what is shown.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from closeloop.cases.lifecycle import Status
from closeloop.cases.listing import OPEN_STATUSES
from closeloop.config.models import CASE_KINDS
from closeloop.console.deps import Viewer
from closeloop.console.directory import assignable_handlers, channels, departments, load_names
from closeloop.console.i18n import N_, gettext
from closeloop.console.live import due_clock
from closeloop.console.pages import (
    drop_empty_query,
    render,
    request_locale,
    see_other,
    with_query,
)
from closeloop.console.queues import KIND_LABELS, STATUS_LABELS
from closeloop.console.queues import _customer_text as customer_text
from closeloop.console.reports_view import (
    Linker,
    View,
    dashboard,
    key_label,
    metric_title,
    period_text,
)
from closeloop.db import utcnow
from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.reports.deps import provide_report_service
from closeloop.reports.params import report_query
from closeloop.reports.schemas import METRICS, TIME_BUCKETS, ReportQuery, previous_range
from closeloop.reports.service import MAX_CASES_LIMIT, ReportService
from closeloop.web.deps import DbSession

__all__ = ["REPORT_ROLES", "ReportsPageController", "read_query"]

REPORT_ROLES = (Role.ADMIN, Role.SUPERVISOR, Role.VIEWER)
PAGE_SIZE = 50
PERIOD_PARAMS = ("period", "from", "to")
FILTER_PARAMS = ("channel", "kind", "category", "severity", "department", "handler")
# What the dashboard's URL keeps (the report API's parameters); the cases page adds
# `key` and `cursor`.
KEPT_PARAMS = (*PERIOD_PARAMS, "group_by", *FILTER_PARAMS)
GROUP_LABELS = {"day": N_("By day"), "week": N_("By week"), "month": N_("By month")}


def _kept(
    request: Request[Any, Any, Any], names: Sequence[str] = KEPT_PARAMS
) -> list[tuple[str, str]]:
    return [(name, value) for name in names if (value := request.query_params.get(name))]


def _today(timezone: str) -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo(timezone or "UTC")).date()


def _this_month(today: dt.date) -> str:
    return f"{today.year:04d}-{today.month:02d}"


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def read_query(params: Mapping[str, str]) -> ReportQuery:
    """The report of a URL, read as the API reads it (`reports.params.report_query`)."""
    return report_query(
        date_from=params.get("from"),
        date_to=params.get("to"),
        period=params.get("period"),
        group_by=params.get("group_by"),
        channel=params.get("channel"),
        kind=params.get("kind"),
        category=params.get("category"),
        severity=params.get("severity"),
        department=params.get("department"),
        handler=params.get("handler"),
    )


def _group_by(query: ReportQuery) -> str:
    """The trend's bucket: the URL's, else one that gives a readable number of bars."""
    if query.group_by in TIME_BUCKETS:
        return query.group_by
    return "day" if query.days <= 62 else "week" if query.days <= 190 else "month"


def _period_links(
    today: dt.date, query: ReportQuery, filters: list[tuple[str, str]]
) -> dict[str, Any]:
    """Quick periods (this/last month, week, year) and the periods before and after."""
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    iso = today.isocalendar()
    last_week = (today - dt.timedelta(days=7)).isocalendar()
    quick = [
        (N_("This month"), _this_month(today)),
        (N_("Last month"), _this_month(last_month_end)),
        (N_("This week"), f"{iso.year:04d}-W{iso.week:02d}"),
        (N_("Last week"), f"{last_week.year:04d}-W{last_week.week:02d}"),
        (N_("This year"), f"{today.year:04d}"),
    ]
    before = previous_range(query.date_from, query.date_to)
    after_start = query.date_to + dt.timedelta(days=1)
    if query.date_from.day == 1 and after_start.day == 1:  # whole months: the next ones
        months = (after_start.year - query.date_from.year) * 12 + (
            after_start.month - query.date_from.month
        )
        after = (after_start, _add_months(after_start, months) - dt.timedelta(days=1))
    else:
        after = (after_start, after_start + (query.date_to - query.date_from))

    def href(pairs: list[tuple[str, str]]) -> str:
        return with_query("/console/reports", [*pairs, *filters])

    return {
        "quick": [
            {"label": label, "href": href([("period", value)]), "value": value}
            for label, value in quick
        ],
        "previous": href([("from", before[0].isoformat()), ("to", before[1].isoformat())]),
        "next": href([("from", after[0].isoformat()), ("to", after[1].isoformat())])
        if after[0] <= today
        else None,
    }


async def _choices(db_session: DbSession, locale: str) -> dict[str, Any]:
    names = await load_names(db_session, locale)
    return {
        "kinds": [(k, gettext(locale, KIND_LABELS.get(k, k))) for k in CASE_KINDS],
        "severities": sorted(names.severities.items()),
        "categories": sorted(
            (code, name)
            for code, name in names.categories.items()
            if not _user_ids([f"handler:{code}"])
        ),
        "channels": await channels(db_session, locale),
        "departments": await departments(db_session, locale),
        "handlers": await assignable_handlers(db_session),
        "groups": [(g, gettext(locale, GROUP_LABELS[g])) for g in TIME_BUCKETS],
    }


def _params(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {name: value for name, value in _kept(request)}


def _user_ids(keys: Iterable[str | None]) -> list[uuid.UUID]:
    """The user ids in `handler:ID` keys (for their names)."""
    found = []
    for key in keys:
        dimension, _, rest = (key or "").partition(":")
        if dimension == "handler":
            with contextlib.suppress(ValueError):
                found.append(uuid.UUID(rest))
    return found


async def _view(
    db_session: DbSession, locale: str, link: Linker, keys: Iterable[str | None] = ()
) -> View:
    names = await load_names(db_session, locale, _user_ids(keys))
    return View(locale, names, dict(await channels(db_session, locale)), link)


Reports = NamedDependency[ReportService]


class ReportsPageController(Controller):
    path = "/reports"
    dependencies = {"reports": Provide(provide_report_service, sync_to_thread=False)}

    @get("/", opt=access(*REPORT_ROLES), before_request=drop_empty_query)
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        viewer: Viewer,
        reports: Reports,
    ) -> Template | Redirect:
        """The dashboard of the period and filters in the URL (this month's without)."""
        if not any(request.query_params.get(name) for name in PERIOD_PARAMS):
            this_month = [("period", _this_month(_today(viewer.tenant_timezone)))]
            target = with_query(request.url.path, [*this_month, *_kept(request)])
            return see_other(target)
        query = read_query(_params(request))
        locale = request_locale(request, viewer.tenant_locale)
        bucket = _group_by(query)
        summary = await reports.summary(
            ReportQuery(query.date_from, query.date_to, bucket, query.filters)
        )
        kept = _kept(request)

        def link(metric: str, key: str | None) -> str:
            return with_query(f"/console/reports/{metric}/cases", [*kept, ("key", key)])

        keys = [
            row.key
            for metric in summary.metrics.values()
            for breakdown in metric.breakdowns
            for row in breakdown.rows
        ]
        view = await _view(db_session, locale, link, keys)
        scope = await reports.scope()
        return render(
            request,
            "reports/dashboard.html",
            locale=locale,
            viewer=viewer,
            board=dashboard(view, summary),
            period=period_text(summary.period.date_from, summary.period.date_to),
            previous_period=period_text(
                summary.previous_period.date_from, summary.previous_period.date_to
            ),
            time_zone=summary.period.time_zone,
            date_from=query.date_from.isoformat(),
            date_to=query.date_to.isoformat(),
            params=dict(kept),
            bucket=bucket,
            periods=_period_links(
                _today(viewer.tenant_timezone),
                query,
                _kept(request, (*FILTER_PARAMS, "group_by")),
            ),
            scope=view.names.departments.get(scope, str(scope)) if scope else None,
            # The report e-mails page has the roles of /api/v1/report-schedules.
            may_schedule=viewer.principal.has_role(Role.ADMIN),
            **await _choices(db_session, locale),
        )

    @get("/{metric:str}/cases", opt=access(*REPORT_ROLES), before_request=drop_empty_query)
    async def cases(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        viewer: Viewer,
        reports: Reports,
        metric: FromPath[str],
        key: Annotated[str | None, QueryParameter(max_length=300)] = None,
        cursor: Annotated[str | None, QueryParameter(max_length=400)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_CASES_LIMIT)] = PAGE_SIZE,
    ) -> Template:
        """The cases counted by one figure (or one bar: `key`), newest received first."""
        if metric not in METRICS:
            raise NotFoundException(f"no metric {metric!r}")
        query = read_query(_params(request))
        locale = request_locale(request, viewer.tenant_locale)
        items, next_cursor = await reports.cases(metric, query, key=key, cursor=cursor, limit=limit)
        kept = _kept(request)
        with_key = [*kept, ("key", key)]
        here = request.url.path
        view = await _view(db_session, locale, lambda m, k: "", [key])
        names = await load_names(db_session, locale, [c.handler_id for c in items])
        now = utcnow()
        rows = [
            {
                "id": case.id,
                "number": case.number,
                "title": case.title,
                "customer": customer_text(case.customer),
                "category": names.category(case.category_id, case.category),
                "severity": names.severities.get(case.severity or "", case.severity),
                "severity_rank": min(max(case.severity_rank, 0), 3),
                "status_label": gettext(
                    locale, STATUS_LABELS.get(Status(case.status), case.status)
                ),
                "escalation": case.escalation_level,
                "handler": names.users.get(case.handler_id) if case.handler_id else None,
                "due": case.due,
                "start": case.received_at,
                "clock": due_clock(locale, case.due, case.received_at, now)
                if case.due is not None and case.status in OPEN_STATUSES
                else None,
                "repeat": case.is_repeat,
            }
            for case in items
        ]
        return render(
            request,
            "reports/cases.html",
            locale=locale,
            viewer=viewer,
            metric_title=metric_title(locale, metric),
            key_text=key_label(view, key) if key else None,
            period=period_text(query.date_from, query.date_to),
            rows=rows,
            back_url=with_query("/console/reports", kept),
            next_url=with_query(here, [*with_key, ("cursor", next_cursor)])
            if next_cursor
            else None,
            first_url=with_query(here, with_key) if cursor else None,
        )
