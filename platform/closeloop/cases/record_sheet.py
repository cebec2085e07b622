"""The printable record sheet: one case on the practice's complaint handling and
follow-up form (投诉编号 … 归档日期), in the tenant's language, as a PDF.

Private data (the fields the practice marks `*`: the customer's name and contact, the
staff who handled, followed up, recorded and reviewed the case) is masked unless the
caller holds `pii` and asks for it; the customer's data in clear is then read through
`CustomerService.view`, which audits it (`customer.pii_read`). The case is read as for
`GET /api/v1/cases/{id}` (another tenant's id: 404).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
import zoneinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.actions import DEFAULT_SATISFACTION_SCALE
from closeloop.cases.editing import CaseService
from closeloop.cases.models import Case, CaseEvent, Customer
from closeloop.cases.record_sheet_labels import FIELDS, STATUSES, VALUES, word
from closeloop.cases.timeline import MAX_TIMELINE_LIMIT, TimelineService
from closeloop.config.models import TenantProfile
from closeloop.config.service import (
    CategoryService,
    ChannelService,
    DepartmentService,
    SeverityService,
)
from closeloop.customers.deps import provide_customer_service
from closeloop.db import required_tenant, utcnow
from closeloop.errors import Forbidden
from closeloop.exports.pdf import PdfTemplates
from closeloop.identity.models import User
from closeloop.identity.principal import Principal
from closeloop.pii.cipher import mask_name
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant

__all__ = ["RecordSheetService", "Sheet"]

_TEMPLATES = PdfTemplates(__file__)
# Events of the handling record (处理过程记录), oldest first.
_PROCESS = {"assign", "start", "progress", "request_info", "resume", "reopen", "escalate",
            "resolve", "merge"}  # fmt: skip
_PRODUCT = ("model", "batch", "order_number", "purchase_date")

Value = str | list[str]


@dataclasses.dataclass(frozen=True, slots=True)
class Sheet:
    """What the form shows: rows of one or two (label, value) cells."""

    locale: str
    title: str
    tenant: str
    number: str
    printed: str
    masked: bool
    rows: list[list[tuple[str, Value]]]


def _zh_or_en(locale: str, row: Any, default: str) -> str:
    """A configuration item's (or scale entry's) name in `locale`, else `default`."""
    key = "name_en" if locale.startswith("en") else "name_zh"
    name = row.get(key) if isinstance(row, dict) else getattr(row, key, None)
    return str(name or default)


class RecordSheetService:
    """Record sheets of the bound tenant's cases, as `principal` may see them."""

    def __init__(self, session: AsyncSession, *, principal: Principal, settings: Settings) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings

    async def pdf(self, case_id: uuid.UUID, *, pii: bool = False) -> tuple[str, bytes]:
        """The case's record sheet as a file name and PDF bytes; `pii`: private data in
        clear (403 `permission_required` without the `pii` permission; audited)."""
        sheet = await self.sheet(case_id, pii=pii)
        return f"record-{sheet.number}.pdf", await _TEMPLATES.pdf("record_sheet.html", sheet=sheet)

    async def sheet(self, case_id: uuid.UUID, *, pii: bool = False) -> Sheet:
        if pii and not self.principal.may_see_pii:
            raise Forbidden(
                "private data in clear (pii) needs the pii permission",
                code="permission_required",
                field="pii",
            )
        viewer = self.principal if pii else dataclasses.replace(
            self.principal, permissions=self.principal.permissions - {"pii"})  # fmt: skip
        case = await CaseService(self.session, principal=viewer, settings=self.settings).get(
            case_id
        )
        tenant = await self.session.get(Tenant, required_tenant(self.session, "record sheet"))
        assert tenant is not None
        return await _Builder(self.session, self.settings, viewer, tenant, case).build()


class _Builder:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        viewer: Principal,
        tenant: Tenant,
        case: Case,
    ) -> None:
        self.session, self.settings, self.viewer = session, settings, viewer
        self.tenant, self.case = tenant, case
        self.locale = "en" if tenant.locale.lower().startswith("en") else "zh-CN"
        self.zone = zoneinfo.ZoneInfo(tenant.timezone)
        self.masked = not viewer.may_see_pii
        self.people: dict[str, str] = {}
        self.events: list[CaseEvent] = []

    def f(self, key: str) -> str:
        return word(FIELDS, key, self.locale)

    def v(self, key: str | None) -> str:
        return word(VALUES, key, self.locale) if key else ""

    def when(self, moment: dt.datetime | str | None, *, day: bool = False) -> str:
        if moment is None:
            return ""
        if isinstance(moment, str):
            try:
                moment = dt.datetime.fromisoformat(moment)
            except ValueError:
                return str(moment)
        local = moment.astimezone(self.zone) if moment.tzinfo else moment
        return local.strftime("%Y-%m-%d" if day else "%Y-%m-%d %H:%M")

    def person(self, actor: str | None) -> str:
        """A staff member's name (masked unless private data is shown)."""
        if not actor:
            return ""
        name = self.people.get(actor)
        if name is None:
            return "API" if actor.startswith("api_key:") else actor.split(":", 1)[0]
        return mask_name(name) if self.masked else name

    async def _names(self, events: list[CaseEvent]) -> None:
        ids = {uuid.UUID(e.actor.split(":", 1)[1]) for e in events if e.actor.startswith("user:")}
        ids |= {i for i in (self.case.handler_id, self.case.registrar_id) if i is not None}
        if ids:
            users = await self.session.scalars(select(User).where(User.id.in_(ids)))
            self.people = {f"user:{u.id}": u.display_name for u in users}

    async def _customer(self) -> tuple[Value, Value]:
        case = self.case
        if case.customer_id is None:
            return "", ""
        row = await self.session.get(Customer, (case.tenant_id, case.customer_id))
        if row is None:
            return "", ""
        shown = await provide_customer_service(self.session, self.viewer, self.settings).view(row)
        name = " ".join(
            p for p in (shown.name, f"({shown.nickname})" if shown.nickname else "") if p
        )
        return name, [c for c in (shown.phone, shown.email) if c]

    async def _config_names(self) -> dict[str, str]:
        """Names of the case's channel, category (as a path), severity and departments."""
        case, actor, names = self.case, self.viewer.actor, {}
        for service in (CategoryService, SeverityService, DepartmentService, ChannelService):
            rows = {r.id: r for r in await service(self.session, actor=actor).list()}
            for row in rows.values():
                path, parent = (
                    _zh_or_en(self.locale, row, row.code),
                    getattr(row, "parent_id", None),
                )
                while parent in rows:
                    path = f"{_zh_or_en(self.locale, rows[parent], rows[parent].code)} / {path}"
                    parent = getattr(rows[parent], "parent_id", None)
                names[str(row.id)] = path
                if service is ChannelService:
                    names[f"channel:{row.code}"] = path
        names.setdefault(f"channel:{case.channel}", case.channel)
        return names

    async def _satisfaction(self) -> dict[str, str]:
        profile = await self.session.scalar(select(TenantProfile).limit(1))
        scale = (profile.satisfaction_scale if profile else None) or DEFAULT_SATISFACTION_SCALE
        return {str(s["code"]): _zh_or_en(self.locale, s, str(s["code"])) for s in scale}

    def _event_line(self, event: CaseEvent, *keys: str) -> str:
        data = event.data or {}
        parts = [self.when(event.created_at), self.v(event.type), self.person(event.actor)]
        for key in keys:
            value = data.get(key)
            if value not in (None, "", [], {}):
                parts.append(self.v(str(value)) if key == "outcome" else str(value))
        return " · ".join(p for p in parts if p)

    def _of(self, *types: str) -> list[CaseEvent]:
        return [e for e in self.events if e.type in types]

    def _details(self) -> list[str]:
        case = self.case
        details = [case.title, case.description or ""]
        if case.problem_at or case.problem_place:
            when, where = self.when(case.problem_at), case.problem_place or ""
            details.append(f"{self.f('problem_at')}: {when}  {self.f('problem_place')}: {where}")
        if case.demands:
            details.append(f"{self.f('demands')}: {'、'.join(self.v(d) for d in case.demands)}")
        return [d for d in details if d]

    def _department(self, names: dict[str, str]) -> str:
        case = self.case
        department = names.get(str(case.lead_department_id), "")
        if case.collaborating_department_ids:
            others = "、".join(names.get(str(d), "") for d in case.collaborating_department_ids)
            department += f" ({self.f('collaborating')}: {others})"
        return department

    def _result(self) -> list[str]:
        resolution = dict(self.case.resolution or {})
        result = []
        for key in ("root_cause", "responsible_party", "third_party", "solution_type"):
            value = resolution.get(key)
            if value:
                shown = self.v(str(value)) if key == "responsible_party" else str(value)
                result.append(f"{self.f(key)}: {shown}")
        if resolution.get("result"):
            result.append(str(resolution["result"]))
        return result

    def _feedback(self, scale: dict[str, str]) -> Value:
        lines = []
        for event in self._of("feedback"):
            data = event.data or {}
            parts = (
                self.when(event.created_at),
                scale.get(str(data.get("satisfaction")), ""),
                str(data.get("reason") or ""),
            )
            lines.append(" · ".join(p for p in parts if p))
        return lines or scale.get(self.case.first_satisfaction or "", "")

    def _followup_rows(self) -> list[list[tuple[str, Value]]]:
        followups = self._of("followup")
        last = followups[-1] if followups else None
        data = dict(last.data or {}) if last else {}
        answers = dict(data.get("script_answers") or {})
        talk = [f"{q}: {a}" for q, a in answers.items()]
        return [
            [(self.f("followup"), talk or [self._event_line(e, "outcome") for e in followups])],
            [
                (self.f("followup_date"), self.when(last.created_at, day=True) if last else ""),
                (self.f("followup_by"), self.person(last.actor) if last else ""),
            ],
            [
                (self.f("followup_result"), self.v(self.case.followup_outcome)),
                (self.f("customer_remarks"), str(data.get("note") or "")),
            ],
        ]

    def _remarks(self) -> list[str]:
        case = self.case
        remarks = []
        if case.escalation_level:
            remarks.append(f"{self.f('escalation')}: {case.escalation_level}")
        if case.is_repeat:
            remarks.append(f"{self.f('repeat')}: {self.v('yes')}")
        return remarks + [self._event_line(e, "note") for e in self._of("annotate")]

    def _registrar(self) -> str:
        case = self.case
        if case.registrar_id:
            return self.person(f"user:{case.registrar_id}")
        return self.person(
            f"api_key:{case.registrar_api_key_id}" if case.registrar_api_key_id else None
        )

    async def build(self) -> Sheet:
        case = self.case
        timeline = TimelineService(self.session, principal=self.viewer, settings=self.settings)
        self.events, _ = await timeline.events(case.id, limit=MAX_TIMELINE_LIMIT)
        await self._names(self.events)
        names = await self._config_names()
        name, contact = await self._customer()
        verified = self._of("verify", "invalidate")
        product = dict(case.product or {})
        product_text = " · ".join(
            [str(product.get("name") or "")]
            + [f"{self.f(k)} {product[k]}" for k in _PRODUCT if product.get(k)]
        )
        handler = self.person(f"user:{case.handler_id}" if case.handler_id else None)
        checks = [self._event_line(e, "note", "explanation") for e in verified]
        checks += [self._event_line(e, "question") for e in self._of("request_info")]
        process = [self._event_line(e, "note", "reason") for e in self.events if e.type in _PROCESS]
        rows: list[list[tuple[str, Value]]] = [
            [(self.f("number"), case.number), (self.f("received"), self.when(case.received_at))],
            [
                (self.f("channel"), names[f"channel:{case.channel}"]),
                (self.f("status"), word(STATUSES, case.status, self.locale)),
            ],
            [(self.f("customer_name"), name), (self.f("contact"), contact)],
            [
                (self.f("category"), names.get(str(case.category_id), case.category_code or "")),
                (self.f("severity"), names.get(str(case.severity_id), case.severity_code or "")),
            ],
            [(self.f("product"), product_text)],
            [(self.f("details"), self._details())],
            [(self.f("verification"), checks)],
            [(self.f("department"), self._department(names)), (self.f("handler"), handler)],
            [
                (self.f("plan"), [self._event_line(e, "note") for e in self._of("assign")]),
                (self.f("time_limit"), self.when(case.deadline or case.due_at)),
            ],
            [(self.f("process"), process)],
            [(self.f("result"), self._result())],
            [(self.f("first_feedback"), self._feedback(await self._satisfaction()))],
            *self._followup_rows(),
            [(self.f("remarks"), self._remarks())],
            [
                (self.f("recorded_by"), self._registrar()),
                (self.f("reviewed_by"), self.person(verified[-1].actor) if verified else ""),
            ],
            [(self.f("archived"), self.when(case.archived_at, day=True))],
        ]
        return Sheet(
            locale=self.locale,
            title=self.f("title"),
            tenant=self.tenant.name,
            number=case.number,
            printed=f"{self.f('printed')}: {self.when(utcnow())}",
            masked=self.masked,
            rows=rows,
        )
