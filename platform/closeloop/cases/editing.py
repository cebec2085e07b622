"""Reading one case and editing its fields (`PATCH` with `If-Match`).

An edit names the version it was made against; a stale version is refused with the
current one (409 `version_conflict`), an archived case is frozen (409
`case_archived`). A successful edit bumps `version`, re-copies category and severity
codes, refreshes the search text and repeat links, and writes an `edited` timeline
event and a `case.update` audit entry with the diff, in the request's transaction.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from closeloop.audit.service import diff, digest_fields, jsonable
from closeloop.cases.intake import find_repeats, local_time, product_dict
from closeloop.cases.lifecycle import Status
from closeloop.cases.models import Case, Customer
from closeloop.cases.schemas import CaseRead, CaseUpdate
from closeloop.cases.search import search_vector
from closeloop.cases.snapshot import snapshot
from closeloop.cases.timeline import add_event
from closeloop.cases.views import case_read
from closeloop.config.models import Category, DemandType, Severity, TenantProfile
from closeloop.crud import Audits
from closeloop.db import required_tenant, utcnow
from closeloop.errors import ApiError, Conflict, NotFound, UnprocessableEntity
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.sla import hooks as sla_hooks
from closeloop.tenancy.models import Tenant

__all__ = ["EDITABLE", "IF_MATCH", "CaseService", "PreconditionRequired", "parse_if_match"]

EDITABLE = (
    "title",
    "description",
    "category_id",
    "severity_id",
    "product",
    "problem_at",
    "problem_place",
    "demands",
    "extra",
)
# What the diff shows: the editable fields plus the codes copied with them.
# Free text may carry personal data: the audit trail keeps only digests of it.
FREE_TEXT = ("title", "description", "product", "problem_place", "extra")
_DIFFED = (*EDITABLE, "category_code", "severity_code", "severity_rank", "is_repeat", "repeat_of")


class PreconditionRequired(ApiError, status=428, code="precondition_required"): ...


# `3`, `"3"` or `W/"3"` (ASCII digits: `str.isdigit` also takes `²`, which `int` refuses).
IF_MATCH = r'^\s*(?:W/)?"?([0-9]{1,18})"?\s*$'
_IF_MATCH = re.compile(IF_MATCH)


def parse_if_match(header: str | None) -> int:
    """The version an `If-Match` header names: `3`, `"3"` or `W/"3"`."""
    if header is None or not header.strip():
        raise PreconditionRequired(
            "editing a case needs `If-Match: <version>` (the ETag of the case you read)",
            field="If-Match",
        )
    found = _IF_MATCH.match(header)
    if found is None:
        raise ApiError(
            f"If-Match must be the case's version (its ETag), got {header!r}",
            code="invalid_if_match",
            field="If-Match",
        )
    return int(found.group(1))


def _snapshot(case: Case) -> dict[str, Any]:
    shown: dict[str, Any] = jsonable(snapshot(case, _DIFFED))
    return shown


class CaseService(Audits):
    def __init__(
        self,
        session: AsyncSession,
        *,
        principal: Principal | None,
        settings: Settings | None = None,
    ) -> None:
        self.session = session
        self.principal = principal
        self.settings = settings
        self.actor = principal.actor if principal is not None else "system"

    def _tenant_id(self) -> uuid.UUID:
        tenant_id = required_tenant(self.session, "CaseService")
        return tenant_id

    async def read(self, case: Case) -> CaseRead:
        """`case` as the caller sees it (`GET /api/v1/cases/{id}`): the customer masked
        unless they hold `pii`, the actions they may take now."""
        assert self.settings is not None, "CaseService.read needs the settings"
        return await case_read(self.session, self.settings, self.principal, case)

    async def get(self, case_id: uuid.UUID, *, for_update: bool = False) -> Case:
        """The case, or 404 (also for another tenant's case)."""
        query = (
            select(Case)
            .where(Case.id == case_id)
            .options(defer(Case.search, raiseload=True))
            .execution_options(populate_existing=True)
        )
        if for_update:
            query = query.with_for_update()
        case = await self.session.scalar(query)
        if case is None:
            raise NotFound("no such case")
        return case

    async def update(self, case_id: uuid.UUID, data: CaseUpdate, *, if_match: int) -> Case:
        case = await self.get(case_id, for_update=True)
        if case.status == Status.ARCHIVED:
            raise Conflict(
                "the case is archived: its record is frozen (annotations only)",
                code="case_archived",
                details={"status": case.status},
            )
        if if_match != case.version:
            raise Conflict(
                f"the case changed since version {if_match}; "
                f"read it again (now version {case.version})",
                code="version_conflict",
                details={"current_version": case.version, "if_match": if_match},
            )
        before = _snapshot(case)
        await self._apply(case, data)
        after = _snapshot(case)
        old, new = diff(before, after)
        if not new:
            return case  # nothing changed: no new version, no entries
        await self._refresh_derived(case, changed=set(new))
        await sla_hooks.on_edit(self.session, case, changed=set(new), actor=self.actor)
        old, new = diff(before, _snapshot(case))
        case.version += 1
        case.updated_at = utcnow()
        await self.session.flush()
        await add_event(
            self.session,
            case,
            type="edited",
            actor=self.actor,
            from_status=case.status,
            to_status=case.status,
            data={"fields": sorted(new), "version": case.version},
        )
        await self.record(
            "case.update",
            "case",
            case.id,
            before=digest_fields(old, FREE_TEXT),
            after=digest_fields(new, FREE_TEXT),
        )
        return case

    async def _apply(self, case: Case, data: CaseUpdate) -> None:
        tenant_id = self._tenant_id()
        unset = msgspec.UNSET
        if data.title is not unset:
            if not data.title.strip():
                raise _invalid("title", "title is empty")
            case.title = data.title.strip()
        if data.description is not unset:
            if not data.description.strip():
                raise _invalid("description", "description is empty")
            case.description = data.description
        if data.category_id is not unset:
            if data.category_id is None:
                case.category_id, case.category_code = None, None
            elif data.category_id != case.category_id:
                category = await self.session.get(Category, (tenant_id, data.category_id))
                if category is None or not category.active:
                    raise _invalid("category_id", "no such active category")
                case.category_id, case.category_code = category.id, category.code
        if data.severity_id is not unset and data.severity_id != case.severity_id:
            severity = await self.session.get(Severity, (tenant_id, data.severity_id))
            if severity is None or not severity.active:
                raise _invalid("severity_id", "no such active severity")
            case.severity_id, case.severity_code = severity.id, severity.code
            case.severity_rank = severity.rank
        if data.product is not unset:
            case.product = {**(case.product or {}), **product_dict(data.product)}
        if data.problem_at is not unset or data.problem_place is not unset:
            if data.problem_at is not unset:
                case.problem_at = await self._local(data.problem_at)
            if data.problem_place is not unset:
                case.problem_place = data.problem_place
        if data.demands is not unset:
            case.demands = await self._demands(data.demands)
        if data.extra is not unset:
            case.extra = data.extra

    async def _local(self, value: dt.datetime | None) -> dt.datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        tenant = await self.session.get(Tenant, self._tenant_id())
        assert tenant is not None
        return local_time(value, zoneinfo.ZoneInfo(tenant.timezone))

    async def _demands(self, demands: list[str]) -> list[str]:
        wanted = list(dict.fromkeys(d.strip() for d in demands))
        if not wanted:
            return []
        known = set(
            (
                await self.session.scalars(
                    select(DemandType.code).where(DemandType.code.in_(wanted), DemandType.active)
                )
            ).all()
        )
        unknown = [d for d in wanted if d not in known]
        if unknown:
            raise _invalid("demands", f"unknown demand type {unknown[0]!r}")
        return wanted

    async def _refresh_derived(self, case: Case, *, changed: set[str]) -> None:
        if changed & {"title", "description"}:
            nickname = None
            if case.customer_id is not None:
                nickname = await self.session.scalar(
                    select(Customer.nickname).where(Customer.id == case.customer_id)
                )
            case.search = search_vector(case.number, case.title, case.description, nickname)
        if "category_id" in changed:
            window = await self.session.scalar(select(TenantProfile.repeat_window_days).limit(1))
            case.repeat_of = await find_repeats(
                self.session,
                customer_id=case.customer_id,
                category_id=case.category_id,
                received_at=case.received_at,
                window_days=30 if window is None else window,
                exclude=case.id,
            )
            case.is_repeat = bool(case.repeat_of)


def _invalid(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, field=field)
