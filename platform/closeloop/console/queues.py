"""The queues (`/console/queues/{name}`): the cases a user works through, next due first.

A queue is a preset of the case list's own filters (mine, my department, unassigned,
due soon, breached, ...). The page reads the URL with the list API's filter parsing
(`provide_case_filters`: every filter of `GET /api/v1/cases`, search included), lays
the queue's preset over it and calls the API's listing service, so a bookmarked URL
shows the same cases the API answers for the same filters. Customers are masked by the
API's own view (`case_summaries`) unless the viewer holds `pii`.

Bulk assign (supervisors, admins) applies the API's assign action to each chosen case
through `CaseActionService`, each in a savepoint of its own, and reports per case.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Stream, Template
from sqlalchemy import select

from closeloop.cases.action_schemas import decode_body
from closeloop.cases.actions import CaseActionService
from closeloop.cases.deps import provide_case_actions, provide_case_export
from closeloop.cases.export import EXPORT_ROLES, CaseExportService
from closeloop.cases.http_filters import provide_case_filters
from closeloop.cases.lifecycle import FOLLOWUP_STAGE, WAITING, Action, Status
from closeloop.cases.listing import MAX_LIMIT, OPEN_STATUSES, CaseFilters, count_cases, list_cases
from closeloop.cases.models import Case
from closeloop.cases.views import case_summaries
from closeloop.config.models import CASE_KINDS
from closeloop.console.deps import ConsolePage, Page, Viewer
from closeloop.console.directory import (
    assignable_handlers,
    channels,
    departments,
    load_names,
)
from closeloop.console.i18n import N_, gettext
from closeloop.console.live import POLL_SECONDS, due_clock, live_stamp, unchanged
from closeloop.console.pages import drop_empty_query, see_other, with_query
from closeloop.customers.schemas import CustomerRead
from closeloop.db import utcnow
from closeloop.errors import ApiError
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role, User
from closeloop.web.deps import DbSession

__all__ = [
    "BULK_ROLES",
    "DUE_SOON",
    "FILTER_PARAMS",
    "QUEUES",
    "STATUS_LABELS",
    "QueueController",
    "queue_filters",
    "queue_rows",
    "queue_url",
]

PAGE_SIZE = 50
# "Due soon": open, not yet breached, due within this time.
DUE_SOON = dt.timedelta(hours=4)
BULK_ROLES = (Role.SUPERVISOR, Role.ADMIN)
RESULTS_ID = "queue-results"
# The query parameters of `GET /api/v1/cases` the page keeps in its URL (a page's
# place, `cursor`, is added to the paging links only).
FILTER_PARAMS = (
    "q", "status", "kind", "severity", "category", "assignee", "department", "channel",
    "breached", "escalated", "assigned", "due_before", "received_from", "received_to", "limit",
)  # fmt: skip

STATUS_LABELS = {
    Status.REGISTERED: N_("Registered"),
    Status.VERIFIED: N_("Verified"),
    Status.WAITING_CUSTOMER: N_("Waiting on customer"),
    Status.ASSIGNED: N_("Assigned"),
    Status.IN_PROGRESS: N_("In progress"),
    Status.RESOLVED: N_("Resolved"),
    Status.FEEDBACK_RECEIVED: N_("Feedback received"),
    Status.FOLLOWUP_SCHEDULED: N_("Follow-up scheduled"),
    Status.REOPENED: N_("Reopened"),
    Status.CLOSED: N_("Closed"),
    Status.CLOSED_INVALID: N_("Closed as invalid"),
    Status.ARCHIVED: N_("Archived"),
    Status.MERGED: N_("Merged"),
}
KIND_LABELS = {
    "complaint": N_("Complaint"),
    "service_request": N_("Service request"),
    "inquiry": N_("Inquiry"),
    "suggestion": N_("Suggestion"),
}
_OPEN = list(OPEN_STATUSES)
_WAITING = [s.value for s in Status if s in WAITING]
_FOLLOWUP = [s.value for s in Status if s in FOLLOWUP_STAGE]


@dataclasses.dataclass(frozen=True, slots=True)
class Queue:
    name: str
    title: str  # N_ message


QUEUES = {
    q.name: q
    for q in (
        Queue("mine", N_("My cases")),
        Queue("department", N_("My department")),
        Queue("unassigned", N_("Unassigned")),
        Queue("due-soon", N_("Due soon")),
        Queue("breached", N_("Breached")),
        Queue("waiting", N_("Waiting on customer")),
        Queue("reopened", N_("Reopened")),
        Queue("followups", N_("Follow-ups")),
        Queue("open", N_("All open")),
        Queue("all", N_("All cases")),
    )
}


def queue_filters(
    name: str, user: User | None, now: dt.datetime, given: CaseFilters | None = None
) -> CaseFilters | None:
    """The filters of queue `name` over `given` (the URL's); None when nothing matches."""
    return combine(given or CaseFilters(), _preset(name, user, now))


def _preset(name: str, user: User | None, now: dt.datetime) -> dict[str, Any]:
    """The filters queue `name` sets, over whatever the URL asks."""
    presets: dict[str, dict[str, Any]] = {
        "mine": {"status": _OPEN, "assignee": user.id if user else uuid.UUID(int=0)},
        "department": {"status": _OPEN, "department": user.department_id if user else None},
        "unassigned": {"status": _OPEN, "assigned": False},
        "due-soon": {"status": _OPEN, "breached": False, "due_before": now + DUE_SOON},
        "breached": {"breached": True},
        "waiting": {"status": _WAITING},
        "reopened": {"status": [Status.REOPENED.value]},
        "followups": {"status": _FOLLOWUP},
        "open": {"status": _OPEN},
        "all": {},
    }
    return presets[name]


def combine(given: CaseFilters, preset: dict[str, Any]) -> CaseFilters | None:
    """The URL's filters narrowed by the queue's; None when nothing can match (statuses
    that do not meet)."""
    status = list(given.status)
    if "status" in preset:
        status = [s for s in preset["status"] if not status or s in status]
        if not status:
            return None
    narrowed = {key: value for key, value in preset.items() if key != "status"}
    return dataclasses.replace(given, status=status, **narrowed)


def queue_url(name: str, **params: Any) -> str:
    """The URL of queue `name` with filters `params` (None values left out)."""
    return with_query(
        f"/console/queues/{name}", [(k, str(v)) for k, v in params.items() if v is not None]
    )


def _kept_params(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    return [
        (key, value)
        for key in FILTER_PARAMS
        for value in request.query_params.getall(key, [])
        if value != ""
    ]


def _customer_text(customer: CustomerRead | None) -> str:
    """What the row shows of the customer: as masked (or not) by the API's view."""
    if customer is None:
        return ""
    return customer.name or customer.nickname or customer.phone or customer.email or ""


async def queue_rows(page: ConsolePage, cases: list[Case]) -> list[dict[str, Any]]:
    """The queue's rows of `cases` as the page's viewer may see them."""
    db_session, locale = page.db_session, page.locale
    summaries = await case_summaries(db_session, page.settings, page.viewer.principal, cases)
    names = await load_names(db_session, locale, [c.handler_id for c in cases])
    now = utcnow()
    rows = []
    for case, summary in zip(cases, summaries, strict=True):
        clock = None
        if case.due_at is not None and case.status in OPEN_STATUSES:
            clock = due_clock(locale, case.due_at, case.received_at, now)
        elif case.status == Status.WAITING_CUSTOMER:
            clock = {"paused": True}  # the clocks wait with the case (sla/clocks.py)
        rows.append(
            {
                "id": case.id,
                "number": case.number,
                "title": case.title,
                "customer": _customer_text(summary.customer),
                "category": names.category(case.category_id, case.category_code),
                "severity": names.severities.get(case.severity_code or "", case.severity_code),
                "severity_rank": min(max(case.severity_rank, 0), 3),
                "status": case.status,
                "status_label": gettext(
                    locale, STATUS_LABELS.get(Status(case.status), case.status)
                ),
                "handler": names.users.get(case.handler_id) if case.handler_id else None,
                "due": case.due_at,
                "start": case.received_at,
                "clock": clock,
                "repeat": case.is_repeat,
                "escalation": case.escalation_level,
            }
        )
    return rows


async def _form_choices(db_session: DbSession, locale: str) -> dict[str, Any]:
    names = await load_names(db_session, locale)
    return {
        "statuses": [(s.value, gettext(locale, label)) for s, label in STATUS_LABELS.items()],
        "kinds": [(k, gettext(locale, KIND_LABELS.get(k, k))) for k in CASE_KINDS],
        "severities": sorted(names.severities.items()),
        "categories": sorted(
            (code, name) for code, name in names.categories.items() if not _is_uuid(code)
        ),
        "channels": await channels(db_session, locale),
        "departments": await departments(db_session, locale),
        "handlers": await assignable_handlers(db_session),
    }


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


Filters = NamedDependency[CaseFilters]
Cursor = Annotated[str | None, QueryParameter(max_length=400)]


class QueueController(Controller):
    path = "/queues"
    dependencies = {
        "filters": Provide(provide_case_filters),
        "actions": Provide(provide_case_actions, sync_to_thread=False),
        "exports": Provide(provide_case_export, sync_to_thread=False),
    }

    @get("/", opt=access(*ALL_ROLES))
    async def queues(self, viewer: Viewer) -> Redirect:
        """The queues start at "mine"."""
        return see_other(queue_url("mine"))

    @get("/{name:str}", opt=access(*ALL_ROLES), before_request=drop_empty_query)
    async def queue(
        self,
        page: Page,
        filters: Filters,
        name: FromPath[str],
        cursor: Cursor = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = PAGE_SIZE,
    ) -> Template | Response[bytes]:
        """One queue, next due first, a page at a time, with its total."""
        request, db_session, locale = page.request, page.db_session, page.locale
        principal = page.viewer.principal
        user, combined = await _queue(page, name, filters)
        no_department = name == "department" and (user is None or user.department_id is None)
        cases: list[Case] = []
        next_cursor, total, capped = None, 0, False
        if combined is not None:
            cases, next_cursor = await list_cases(
                db_session, combined, limit=limit, cursor=cursor, order="due"
            )
            total, capped = await count_cases(db_session, combined)
        kept = _kept_params(request)
        here = request.url.path
        stamp = live_stamp(locale, total, [(c.id, c.version, c.due_at) for c in cases])
        partial = request.headers.get("hx-target") == RESULTS_ID
        if partial and (answer := unchanged(request, stamp)) is not None:
            return answer
        context: dict[str, Any] = {
            "queue": QUEUES[name],
            "queues": QUEUES.values(),
            "rows": await queue_rows(page, cases),
            "total": total,
            "capped": capped,
            "no_department": no_department,
            "next_url": with_query(here, [*kept, ("cursor", next_cursor)]) if next_cursor else None,
            "first_url": with_query(here, kept) if cursor else None,
            "self_url": with_query(here, [*kept, ("cursor", cursor)]),
            "params": dict(kept),
            "statuses_chosen": set(filters.status),
            "stamp": stamp,
            "poll_seconds": POLL_SECONDS,
            "results_id": RESULTS_ID,
            "may_assign": principal.has_role(*BULK_ROLES),
            "export_url": with_query(f"{here}/export", kept)
            if principal.has_role(*EXPORT_ROLES)
            else None,
        }
        if partial:
            return page.render("queues/_results.html", **context)
        return page.render(
            "queues/queue.html", **context, **await _form_choices(db_session, locale)
        )

    @get("/{name:str}/export", opt=access(*EXPORT_ROLES))
    async def export(
        self,
        page: Page,
        exports: NamedDependency[CaseExportService],
        filters: Filters,
        name: FromPath[str],
        format: Annotated[str, QueryParameter(pattern="^(csv|xlsx)$")] = "csv",
    ) -> Stream:
        """The queue's cases with its filters as `GET /api/v1/cases/export` answers them."""
        _, combined = await _queue(page, name, filters)
        export = await exports.open(combined, fmt=format)
        headers = {"Content-Disposition": f'attachment; filename="{export.filename}"'}
        return Stream(export.body, media_type=export.media_type, headers=headers)

    @post("/{name:str}/assign", opt=access(*BULK_ROLES))
    async def bulk_assign(
        self, page: Page, actions: NamedDependency[CaseActionService], name: FromPath[str]
    ) -> Template:
        """Assign each chosen case with the API's assign action; one result per case."""
        if name not in QUEUES:
            raise NotFoundException(f"no queue {name!r}")
        locale = page.locale
        form = await page.request.form()
        raw_ids = [str(v) for v in form.getall("case_id", [])]
        problem = None
        ids: list[uuid.UUID] = []
        try:
            ids = [uuid.UUID(v) for v in raw_ids]
        except ValueError:
            problem = N_("A chosen case is not one of this queue's.")
        if not ids and problem is None:
            problem = N_("Choose at least one case.")
        body = None
        if problem is None:
            try:
                body = decode_body(
                    Action.ASSIGN,
                    {
                        "lead_department_id": form.get("lead_department_id") or None,
                        "handler_id": form.get("handler_id") or None,
                        **({"note": form.get("note")} if form.get("note") else {}),
                    },
                )
            except ApiError:
                problem = N_("Choose a department and a handler.")
        results = []
        if body is not None:
            for case_id in ids:
                results.append(await _assign_one(page.db_session, actions, case_id, body, locale))
        partial = bool(page.request.headers.get("hx-request"))
        answer = page.render(
            "queues/_assign_results.html" if partial else "queues/assign_results.html",
            status_code=400 if problem else 200,
            queue=QUEUES[name],
            problem=gettext(locale, problem) if problem else None,
            results=results,
        )
        if results:
            answer.headers["HX-Trigger"] = "closeloop:changed"  # the queue redraws now
        return answer


async def _queue(
    page: ConsolePage, name: str, filters: CaseFilters
) -> tuple[User | None, CaseFilters | None]:
    """The viewer's user row and queue `name` over the URL's `filters`: None when the
    queue holds nothing (statuses that do not meet; "my department" without one).
    An unknown queue is a 404."""
    if name not in QUEUES:
        raise NotFoundException(f"no queue {name!r}")
    principal = page.viewer.principal
    user = await page.db_session.get(User, (principal.tenant_id, principal.user_id))
    combined = queue_filters(name, user, utcnow(), filters)
    if name == "department" and (user is None or user.department_id is None):
        combined = None
    return user, combined


_REFUSALS = {
    "role_required": N_("You may not assign this case."),
    "action_not_allowed": N_("This case cannot be assigned while it is %(status)s."),
    "not_found": N_("No such case."),
    "validation_failed": N_("The department or the handler cannot take this case."),
}


async def _assign_one(
    db_session: DbSession, service: CaseActionService, case_id: uuid.UUID, body: Any, locale: str
) -> dict[str, Any]:
    try:
        async with db_session.begin_nested():
            case, _ = await service.apply(case_id, Action.ASSIGN, body)
    except ApiError as exc:
        found = await db_session.scalar(select(Case).where(Case.id == case_id))
        status = found.status if found is not None else ""
        label = gettext(locale, STATUS_LABELS[Status(status)]) if status else ""
        message = _REFUSALS.get(exc.code)
        return {
            "id": case_id if found is not None else None,
            "number": found.number if found is not None else str(case_id),
            "ok": False,
            "message": gettext(locale, message, status=label) if message else exc.message,
        }
    return {"id": case.id, "number": case.number, "ok": True, "message": None}
