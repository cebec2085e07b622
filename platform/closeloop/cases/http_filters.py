"""The case list's query parameters, read once for the list and the export alike."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Annotated

import msgspec
from litestar.params import KwargDefinition, QueryParameter

from closeloop.cases.lifecycle import Status
from closeloop.cases.listing import CaseFilters
from closeloop.cases.schemas import Kind
from closeloop.config.models import CASE_KINDS
from closeloop.errors import ApiError
from closeloop.tenancy.models import Tenant
from closeloop.times import TIME_FORMS, parse_time
from closeloop.web.deps import Caller, DbSession

__all__ = ["provide_case_filters"]


def _bad_filter(field: str, message: str) -> ApiError:
    return ApiError(message, code="invalid_request", field=field)


def _bound(
    value: str | None, field: str, zone: zoneinfo.ZoneInfo, *, end: bool
) -> dt.datetime | None:
    """A `received_from`/`received_to` value: an RFC 3339 date (that whole day in the
    tenant's time) or time (`times.parse_time`; without a zone: the tenant's time)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            day = msgspec.convert(value, dt.date)
            start = dt.datetime.combine(day, dt.time(), tzinfo=zone)
            return start + dt.timedelta(days=1) if end else start
        moment = parse_time(value)
    except (msgspec.ValidationError, ValueError):
        raise _bad_filter(field, f"{field} must be a date (2026-11-25) or {TIME_FORMS}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _date_or_time(description: str) -> KwargDefinition:
    """A date-or-time filter (what `_bound` reads), as the document states it."""
    return QueryParameter(
        description=description,
        schema_extra={"anyOf": [{"format": "date"}, {"format": "date-time"}]},
    )


# One status, or several comma-separated, as `status` takes them.
_STATUSES = "|".join(s.value for s in Status)
_STATUS_LIST = {"items": {"type": "string", "pattern": f"^(?:{_STATUSES})(?:,(?:{_STATUSES}))*$"}}


async def provide_case_filters(
    db_session: DbSession,
    principal: Caller,
    status: Annotated[
        list[str] | None,
        QueryParameter(description="status; repeat or comma-separate", schema_extra=_STATUS_LIST),
    ] = None,
    kind: Annotated[Kind | None, QueryParameter(description="case kind")] = None,
    severity: Annotated[str | None, QueryParameter(description="severity code")] = None,
    category: Annotated[str | None, QueryParameter(description="category id or code")] = None,
    assignee: Annotated[uuid.UUID | None, QueryParameter(description="handler's user id")] = None,
    department: Annotated[
        uuid.UUID | None, QueryParameter(description="lead department id")
    ] = None,
    channel: Annotated[str | None, QueryParameter(description="channel code")] = None,
    breached: Annotated[
        bool | None, QueryParameter(description="due passed while not yet resolved")
    ] = None,
    q: Annotated[
        str | None,
        QueryParameter(
            max_length=500,
            description="words (any language) in number, title, description, customer nickname",
        ),
    ] = None,
    received_from: Annotated[str | None, _date_or_time("date or time, inclusive")] = None,
    received_to: Annotated[
        str | None, _date_or_time("date (that whole day) or time, exclusive")
    ] = None,
    assigned: Annotated[
        bool | None, QueryParameter(description="has a handler (false: none yet)")
    ] = None,
    escalated: Annotated[
        bool | None, QueryParameter(description="escalated (escalation level above 0)")
    ] = None,
    due_before: Annotated[
        str | None, _date_or_time("due before this date or time, exclusive")
    ] = None,
) -> CaseFilters:
    """The filters of `GET /api/v1/cases` (DESIGN §4); dates are read in the tenant's zone."""
    tenant = await db_session.get(Tenant, principal.tenant_id)
    zone = zoneinfo.ZoneInfo(tenant.timezone if tenant else "UTC")
    statuses = [s for value in status or [] for s in value.split(",")]
    unknown = sorted(set(statuses) - {s.value for s in Status})
    if unknown:
        raise _bad_filter("status", f"unknown status {unknown[0]!r}")
    if kind is not None and kind not in CASE_KINDS:
        raise _bad_filter("kind", f"kind must be one of {', '.join(CASE_KINDS)}")
    return CaseFilters(
        status=statuses,
        kind=kind,
        severity=severity,
        category=category,
        assignee=assignee,
        department=department,
        channel=channel,
        breached=breached,
        received_from=_bound(received_from, "received_from", zone, end=False),
        received_to=_bound(received_to, "received_to", zone, end=True),
        q=q,
        assigned=assigned,
        escalated=escalated,
        due_before=_bound(due_before, "due_before", zone, end=False),
    )
