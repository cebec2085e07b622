"""What the case page shows, read through the services the API uses: the case, its
customer (masked; revealed only on request, audited by `CustomerService.view`), its SLA
clocks, one timeline of case events, clock events and notifications, the attachments,
the actions `closeloop.cases.lifecycle` allows this user now, and the pickers the
action forms need."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.actions import DEFAULT_SATISFACTION_SCALE, HANDLER_ROLES
from closeloop.cases.attachments import AttachmentService
from closeloop.cases.deps import provide_case_service, provide_timeline
from closeloop.cases.editing import CaseService
from closeloop.cases.lifecycle import allowed_actions
from closeloop.cases.models import Attachment, Case, CaseEvent, Customer
from closeloop.cases.timeline import MAX_TIMELINE_LIMIT, TimelineService
from closeloop.config.models import TenantProfile
from closeloop.config.service import (
    CategoryService,
    ChannelService,
    DepartmentService,
    SeverityService,
)
from closeloop.console import case_labels as L
from closeloop.console.i18n import babel_formats
from closeloop.console.sessions import ConsoleUser
from closeloop.customers.deps import provide_customer_service
from closeloop.customers.schemas import CustomerRead
from closeloop.db import bound_tenant, utcnow
from closeloop.identity.models import User
from closeloop.identity.principal import Principal
from closeloop.notify import records
from closeloop.notify.models import Notification
from closeloop.settings import Settings
from closeloop.sla.clocks import ClockService
from closeloop.sla.deps import provide_clock_service
from closeloop.sla.models import SlaClockEvent

__all__ = [
    "PREVIEWABLE",
    "CaseView",
    "Clock",
    "Entry",
    "Option",
    "case_stamp",
    "load_case_view",
    "masked",
    "resolution_rows",
    "reveal_customer",
]

# Shown in the page: images a browser draws safely (no SVG: it may hold script) and PDF.
PREVIEWABLE = {
    "image/png": "image",
    "image/jpeg": "image",
    "image/gif": "image",
    "image/webp": "image",
    "application/pdf": "pdf",
}
# Event data shown on the timeline, in this order (ids and digests are left out).
_SHOWN_DATA = (
    "note", "question", "reason", "explanation", "root_cause", "responsible_party",
    "third_party", "solution_type", "result", "satisfaction", "outcome", "deadline",
    "after", "plugin", "hook", "status", "filename", "into_number",
)  # fmt: skip
_MOMENTS = ("deadline", "after")


@dataclasses.dataclass(frozen=True, slots=True)
class Option:
    value: str
    text: str
    department: str = ""  # a handler's department id, for the assign picker


@dataclasses.dataclass(frozen=True, slots=True)
class HandlerGroup:
    """The assign picker's handlers of one department (`department` "" for staff
    without one), in the departments' order."""

    department: str
    label: str
    handlers: list[Option]


@dataclasses.dataclass(frozen=True, slots=True)
class Clock:
    target: str
    state: str
    started_at: dt.datetime
    due_at: dt.datetime
    due: str  # relative, in the page's language
    paused: bool
    overdue: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline: a case event, an SLA clock event or a notification."""

    at: dt.datetime
    kind: str  # event | sla | notification
    type: str  # the event's type (`verify`, `edited`, `breach`, an event name...)
    title: str
    actor: str
    visibility: str  # customer | internal
    change: str  # "from → to" of a status, or ""
    details: list[tuple[str, str]]
    delivery: str = ""  # a notification's status


@dataclasses.dataclass
class CaseView:
    case: Case
    customer: CustomerRead | None
    status: str
    severity: str
    category: str
    channel: str
    handler: str
    department: str
    repeats: list[tuple[uuid.UUID, str]]
    merged_into: tuple[uuid.UUID, str] | None
    clocks: list[Clock]
    timeline: list[Entry]
    attachments: list[tuple[Attachment, str]]
    actions: list[str]
    resolution: list[tuple[str, str]]
    categories: list[Option]
    severities: list[Option]
    departments: list[Option]
    handlers: list[HandlerGroup]
    satisfaction: list[Option]
    names: dict[str, str] = dataclasses.field(default_factory=dict)
    stamp: str = ""


async def case_stamp(session: AsyncSession, case_id: uuid.UUID) -> str:
    """What the open page shows changes with this: the case's version, its timeline and
    clock events, its notifications' delivery states (an id-less summary, cheap to read)."""
    found = (
        await session.execute(
            select(
                select(Case.version).where(Case.id == case_id).scalar_subquery(),
                select(func.count()).where(CaseEvent.case_id == case_id).scalar_subquery(),
                select(func.count()).where(SlaClockEvent.case_id == case_id).scalar_subquery(),
                select(func.count())
                .where(Notification.case_id == case_id, Notification.status != "pending")
                .scalar_subquery(),
            )
        )
    ).one()
    return ".".join(str(part) for part in found)


def masked(principal: Principal) -> Principal:
    """The same caller without `pii`: what the page shows before anyone asks to see more."""
    return dataclasses.replace(principal, permissions=principal.permissions - {"pii"})


def _name(row: Any, locale: str) -> str:
    return str((row.name_en if locale == "en" else row.name_zh) or row.code)


def _named(rows: Iterable[Any], locale: str) -> list[Option]:
    """Options named in the page's language; a tree's items by their path ("A / B")."""
    by_id = {row.id: row for row in rows}

    def path(row: Any) -> str:
        parent = by_id.get(getattr(row, "parent_id", None))
        return f"{path(parent)} / {_name(row, locale)}" if parent else _name(row, locale)

    return [Option(str(r.id), path(r)) for r in by_id.values()]


def _name_of(options: Sequence[Option], value: object, fallback: str | None = None) -> str:
    for option in options:
        if option.value == str(value):
            return option.text
    return fallback or ""


async def _customer(
    session: AsyncSession, settings: Settings, principal: Principal, case: Case
) -> CustomerRead | None:
    if case.customer_id is None:
        return None
    row = await session.get(Customer, (bound_tenant(session), case.customer_id))
    if row is None:
        return None
    return await provide_customer_service(session, principal, settings).view(row)


async def reveal_customer(
    session: AsyncSession, settings: Settings, principal: Principal, case_id: uuid.UUID
) -> CustomerRead | None:
    """The case's customer as the caller may see it (unmasked for `pii`, and audited)."""
    case = await provide_case_service(session, principal, settings).get(case_id)
    return await _customer(session, settings, principal, case)


async def _users(session: AsyncSession) -> list[User]:
    return list((await session.scalars(select(User).order_by(User.display_name))).all())


def _by_department(handlers: list[Option], departments: list[Option]) -> list[HandlerGroup]:
    """Handlers grouped under their departments, in the departments' order; staff of no
    (or an inactive) department last, under "" (the template names that group)."""
    known = {d.value for d in departments}
    groups = [
        HandlerGroup(d.value, d.text, [h for h in handlers if h.department == d.value])
        for d in departments
    ]
    rest = [h for h in handlers if h.department not in known]
    return [g for g in [*groups, HandlerGroup("", "", rest)] if g.handlers]


def _actor(names: dict[str, str], actor: str) -> str:
    return names.get(actor, actor.split(":", 1)[0] if ":" in actor else actor)


def _shown(
    locale: str, timezone: str, key: str, value: object, answers: dict[str, str] | None = None
) -> str:
    """An event's value as the page shows it: codes named (a satisfaction answer by the
    tenant's scale, `answers`), moments in the tenant's zone."""
    if key == "satisfaction" and answers:
        return answers.get(str(value), str(value))
    if key == "outcome":
        return L.label(locale, L.OUTCOMES, str(value))
    if key == "responsible_party":
        return L.label(locale, L.RESPONSIBLE, str(value))
    if key in _MOMENTS and isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        return format_datetime(
            moment, "medium", tzinfo=ZoneInfo(timezone), locale=babel_formats(locale)
        )
    return str(value)


def resolution_rows(
    locale: str, timezone: str, resolution: dict[str, Any] | None
) -> list[tuple[str, str]]:
    """A case's resolution as (label, value) rows in the page's language."""
    return [
        (L.label(locale, L.FIELD_LABELS, key), _shown(locale, timezone, key, value))
        for key, value in (resolution or {}).items()
        if value is not None
    ]


def _details(
    locale: str, timezone: str, data: dict[str, Any], answers: dict[str, str]
) -> list[tuple[str, str]]:
    shown = [
        (L.label(locale, L.FIELD_LABELS, key), _shown(locale, timezone, key, data[key], answers))
        for key in _SHOWN_DATA
        if data.get(key) is not None and not isinstance(data[key], dict | list)
    ]
    fields = data.get("fields")
    if isinstance(fields, list) and fields:
        what = ", ".join(L.label(locale, L.FIELD_LABELS, str(f)) for f in fields)
        shown.append((L.label(locale, L.FIELD_LABELS, "status"), what))
    return shown


async def _timeline(
    session: AsyncSession,
    case: Case,
    timeline: TimelineService,
    clocks: ClockService,
    names: dict[str, str],
    locale: str,
    timezone: str,
    answers: dict[str, str],
) -> list[Entry]:
    events, _ = await timeline.events(case.id, limit=MAX_TIMELINE_LIMIT)
    entries = [
        Entry(
            at=e.created_at,
            kind="event",
            type=e.type,
            title=L.label(locale, L.EVENT_LABELS, e.type),
            actor=_actor(names, e.actor),
            visibility=e.visibility,
            change=(
                f"{L.label(locale, L.STATUS_LABELS, e.from_status)} → "
                f"{L.label(locale, L.STATUS_LABELS, e.to_status)}"
                if e.from_status and e.to_status and e.from_status != e.to_status
                else ""
            ),
            details=_details(locale, timezone, e.data or {}, answers),
        )
        for e in events
    ]
    for sla in await clocks.history(case.id):
        reason = L.label(locale, L.ACTION_LABELS, sla.reason)  # mostly the action that did it
        details = [(L.label(locale, L.FIELD_LABELS, "reason"), reason)] if reason else []
        entries.append(
            Entry(
                at=sla.at,
                kind="sla",
                type=sla.type,
                title=" · ".join(
                    part
                    for part in (
                        L.label(locale, L.CLOCK_EVENTS, sla.type),
                        L.label(locale, L.CLOCK_TARGETS, sla.target),
                    )
                    if part
                ),
                actor=_actor(names, sla.actor),
                visibility="internal",
                change="",
                details=details,
            )
        )
    sent, _ = await records.list_notifications(
        session, records.NotificationFilters(case_id=case.id), limit=200, cursor=None
    )
    for note in sent:
        entries.append(
            Entry(
                at=note.created_at,
                kind="notification",
                type=note.event,
                title=f"{L.label(locale, L.EVENT_LABELS, 'notification')} · "
                f"{L.label(locale, L.NOTICES, note.event)}",
                actor=note.channel,
                visibility="customer" if note.recipient_kind == "customer" else "internal",
                change="",
                details=[],
                delivery=L.label(locale, L.DELIVERY, note.status),
            )
        )
    entries.sort(key=lambda entry: entry.at)
    return entries


async def load_case_view(
    session: AsyncSession,
    settings: Settings,
    viewer: ConsoleUser,
    case_id: uuid.UUID,
    locale: str,
    *,
    cases: CaseService,
    attachments: AttachmentService,
) -> CaseView:
    """Everything the case page shows, read as the viewer through the services the API
    uses; 404 (the console's page) when the case is not one of the viewer's tenant."""
    principal = viewer.principal
    case = await cases.get(case_id)
    actor = principal.actor
    categories = _named(await CategoryService(session, actor=actor).list(active=True), locale)
    severities = _named(await SeverityService(session, actor=actor).list(active=True), locale)
    departments = _named(await DepartmentService(session, actor=actor).list(active=True), locale)
    channels = {
        row.code: _name(row, locale) for row in await ChannelService(session, actor=actor).list()
    }
    users = await _users(session)
    names = {f"user:{u.id}": u.display_name for u in users}
    handler_roles = [role.value for role in HANDLER_ROLES]
    handlers = _by_department(
        [
            Option(str(u.id), u.display_name, str(u.department_id or ""))
            for u in users
            if u.active and any(role in handler_roles for role in u.roles)
        ],
        departments,
    )
    clocks = provide_clock_service(session, principal, settings)
    now = utcnow()
    rows = await clocks.clocks(case.id)
    cycle = max((c.cycle for c in rows), default=1)
    shown_clocks = [
        Clock(
            target=c.target,
            state=c.state,
            started_at=c.started_at,
            due_at=c.due_at,
            due=L.due_text(locale, c.due_at, now),
            paused=c.state == "paused",
            overdue=c.state in ("running", "breached") and c.due_at < now,
        )
        for c in rows
        if c.cycle == cycle
    ]
    linked = {*case.repeat_of, *([case.merged_into_id] if case.merged_into_id else [])}
    numbers: dict[uuid.UUID, str] = {}
    if linked:
        found = await session.execute(select(Case.id, Case.number).where(Case.id.in_(linked)))
        numbers = {row.id: row.number for row in found.all()}
    repeats = [(i, numbers[i]) for i in case.repeat_of or () if i in numbers]
    merged_into = case.merged_into_id
    files = await attachments.list(case.id)
    profile = await session.scalar(select(TenantProfile).limit(1))
    scale = (profile.satisfaction_scale if profile else None) or DEFAULT_SATISFACTION_SCALE
    resolution = resolution_rows(locale, viewer.tenant_timezone, case.resolution)
    satisfaction = [
        Option(str(s["code"]), str(s.get("name_en" if locale == "en" else "name_zh")))
        for s in scale
    ]
    return CaseView(
        case=case,
        customer=await _customer(session, settings, masked(principal), case),
        status=L.label(locale, L.STATUS_LABELS, case.status),
        severity=_name_of(severities, case.severity_id, case.severity_code),
        category=_name_of(categories, case.category_id, case.category_code),
        channel=channels.get(case.channel, case.channel),
        handler=names.get(f"user:{case.handler_id}", ""),
        department=_name_of(departments, case.lead_department_id),
        repeats=repeats,
        merged_into=(merged_into, numbers[merged_into]) if merged_into in numbers else None,
        clocks=shown_clocks,
        timeline=await _timeline(
            session,
            case,
            provide_timeline(session, principal, settings),
            clocks,
            names,
            locale,
            viewer.tenant_timezone,
            {o.value: o.text for o in satisfaction},
        ),
        attachments=[(a, PREVIEWABLE.get(a.content_type, "")) for a in files],
        actions=allowed_actions(case, principal),
        resolution=resolution,
        categories=categories,
        severities=severities,
        departments=departments,
        handlers=handlers,
        satisfaction=satisfaction,
        names=names,
        stamp=await case_stamp(session, case.id),
    )
