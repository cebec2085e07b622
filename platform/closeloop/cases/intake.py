"""Intake (登记): check a new case against the tenant's configuration, number it, store it.

Reads first, writes last, in the request's transaction:

1. the checks (the tenant's configuration, read once per request through
   `closeloop.config.current`), the plugins, the customer (found or created) and
   repeat detection;
2. the SLA clocks, computed for the case before it is stored (they set its due time);
3. the number (`numbering.take_number`), last: the counter row stays locked from
   there until the commit, so intakes of one counter scope queue on it, and what
   follows is only the writing. The case row, its clocks, the first timeline event
   (`registered`, customer-visible) and the acknowledgement with its outbox message go
   in as one statement; the audit entry `case.create` is written with the commit.
   Nothing in between waits on the database: the configuration and templates are
   cached, the customer is in the session. A tenant with plugins then has their
   findings stored and correlated (`closeloop.plugins.intake`).

`Idempotency-Key`: a key already used answers the case it made (`created=False`), when
the same caller sends the same body again; a key reused with another body, or by
another user or API key of the tenant, is refused (422 `idempotency_key_reused`): the
case keeps a fingerprint of both (`idempotency_fingerprint`). Requests with one key
take a transaction-scoped advisory lock on it first, so a concurrent retry waits until
the first request committed and then answers its case: one key makes one case, and no
number is ever taken and given back.

`due` is the earliest due time of the SLA clocks intake starts (`closeloop.sla.hooks`):
the promised reply time of the acknowledgement.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
import zoneinfo
from typing import Any

import msgspec
from sqlalchemy import DateTime, Table, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit.service import jsonable
from closeloop.cases.idempotency import check_same_request, idempotency_fingerprint
from closeloop.cases.lifecycle import Status
from closeloop.cases.models import Case, Customer
from closeloop.cases.numbering import numbering_for_kind, take_number
from closeloop.cases.schemas import CaseCreate, ProductIn
from closeloop.cases.search import document_tokens, vector_text
from closeloop.cases.snapshot import INTAKE_AUDIT, snapshot
from closeloop.cases.timeline import add_event
from closeloop.config import current
from closeloop.config.models import Category, Channel, DemandType, Severity
from closeloop.crud import CallerService
from closeloop.customers.deps import provide_customer_service
from closeloop.db import required_tenant, utcnow
from closeloop.errors import UnprocessableEntity
from closeloop.notify.events import ACKNOWLEDGEMENT
from closeloop.notify.service import notify_customer
from closeloop.plugins.intake import run_intake_plugins
from closeloop.reports.hooks import refresh_later
from closeloop.sla import hooks as sla_hooks

__all__ = [
    "IntakeResult",
    "IntakeService",
    "case_audit_shape",
    "find_repeats",
    "hash_public_token",
    "local_time",
    "product_dict",
]

_FUTURE_TOLERANCE = dt.timedelta(minutes=5)
_MAX_REPEAT_LINKS = 20
_IDEMPOTENCY_LOCK_CLASS = 0x49444D50  # "IDMP"
_CASES: Table = Case.__table__  # type: ignore[assignment]
# Written as given and kept in the session as such: in UTC, as the database answers them.
_TIMES = tuple(c.name for c in _CASES.columns if isinstance(c.type, DateTime))


def hash_public_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def local_time(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """A time without a zone is the tenant's local time."""
    return value.replace(tzinfo=zone) if value.tzinfo is None else value


def case_audit_shape(case: Case) -> dict[str, Any]:
    """What the audit trail keeps of a new case (its text stays in the case)."""
    return snapshot(case, INTAKE_AUDIT)


# Built once (executed with parameters): earlier cases of a customer and category
# within a window, oldest first.
_REPEATS = rows.Query(
    select(_CASES.c.id)
    .where(
        _CASES.c.tenant_id == bindparam("tenant_id"),
        _CASES.c.customer_id == bindparam("customer_id"),
        _CASES.c.category_id == bindparam("category_id"),
        _CASES.c.received_at >= bindparam("since"),
        _CASES.c.received_at <= bindparam("until"),
        _CASES.c.id != bindparam("exclude"),
    )
    .order_by(_CASES.c.received_at, _CASES.c.id)
    .limit(_MAX_REPEAT_LINKS)
)
_NO_CASE = uuid.UUID(int=0)


async def find_repeats(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None,
    category_id: uuid.UUID | None,
    received_at: dt.datetime,
    window_days: int,
    exclude: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Earlier cases of the same customer and category within the window, oldest first."""
    if customer_id is None or category_id is None or window_days <= 0:
        return []
    tenant_id = required_tenant(session, "find_repeats")
    found = await _REPEATS.fetch(
        session,
        tenant_id=tenant_id,
        customer_id=customer_id,
        category_id=category_id,
        since=received_at - dt.timedelta(days=window_days),
        until=received_at,
        exclude=exclude or _NO_CASE,
    )
    return [row[0] for row in found]


@dataclasses.dataclass(frozen=True, slots=True)
class IntakeResult:
    case: Case
    created: bool
    customer: Customer | None = None
    public_token: str | None = None  # only for the public form, shown once


class IntakeService(CallerService):
    """Registers cases for the session's bound tenant. `principal` is None for the
    public form (the actor is then `public`)."""

    def _tenant_id(self) -> uuid.UUID:
        tenant_id = required_tenant(self.session, "IntakeService")
        return tenant_id

    async def by_idempotency_key(self, key: str) -> Case | None:
        return await self.session.scalar(select(Case).where(Case.idempotency_key == key))

    async def register(
        self,
        data: CaseCreate,
        *,
        idempotency_key: str | None = None,
        public: bool = False,
    ) -> IntakeResult:
        """Check `data`, then store the case; nothing is written when a check fails."""
        tenant_id = self._tenant_id()
        fingerprint = None
        if idempotency_key is not None:
            # One request per key at a time: a retry waits here until the first one
            # committed (or failed), then finds its case.
            await self.session.execute(
                select(
                    func.pg_advisory_xact_lock(
                        _IDEMPOTENCY_LOCK_CLASS, func.hashtext(f"{tenant_id}:{idempotency_key}")
                    )
                )
            )
            fingerprint = idempotency_fingerprint(data, self.actor)
            existing = await self.by_idempotency_key(idempotency_key)
            if existing is not None:
                check_same_request(existing, fingerprint)
                return IntakeResult(existing, created=False)
        tenant = await current.tenant(self.session)
        zone = zoneinfo.ZoneInfo(tenant.timezone)
        profile = await current.profile(self.session)
        checked = await self._check(data, zone)
        # The tenant's plugins: extra fields, refusals, severity (closeloop.plugins.intake).
        plugin_run = await run_intake_plugins(
            self.session, self.settings, data, checked, product=product_dict(data.product)
        )
        checked = plugin_run.checked
        numbering = numbering_for_kind(profile.number_patterns if profile else None, data.kind)
        day = checked.received_at.astimezone(zone).date()
        token = secrets.token_urlsafe(24) if public else None
        customer = None
        if data.customer is not None:
            customers = provide_customer_service(self.session, self.principal, self.settings)
            customer = await customers.resolve_for_intake(data.customer)
        repeat_of = await find_repeats(
            self.session,
            customer_id=customer.id if customer else None,
            category_id=checked.category.id if checked.category else None,
            received_at=checked.received_at,
            window_days=profile.repeat_window_days if profile else 30,
        )
        draft = rows.new(
            Case,
            tenant_id=tenant_id,
            id=plugin_run.case_id,
            kind=data.kind,
            status=Status.REGISTERED.value,
            channel=checked.channel,
            received_at=checked.received_at,
            title=checked.title,
            description=data.description,
            customer_id=customer.id if customer else None,
            category_id=checked.category.id if checked.category else None,
            category_code=checked.category.code if checked.category else None,
            severity_id=checked.severity.id if checked.severity else None,
            severity_code=checked.severity.code if checked.severity else None,
            severity_rank=checked.severity.rank if checked.severity else 0,
            escalation_level=0,
            product=product_dict(data.product),
            problem_at=checked.problem_at,
            problem_place=data.problem_place,
            demands=checked.demands,
            extra=data.extra,
            registrar_id=self.principal.user_id if self.principal else None,
            registrar_api_key_id=self.principal.api_key_id if self.principal else None,
            is_repeat=bool(repeat_of),
            repeat_of=repeat_of,
            idempotency_key=idempotency_key,
            idempotency_fingerprint=fingerprint,
            public_token_hash=hash_public_token(token) if token else None,
            due_at=None,  # the SLA clocks below set it
            version=1,
        )
        # The clocks are computed before the case row exists (they set its due time).
        clocks = await sla_hooks.on_intake(self.session, draft, actor=self.actor)
        # The number, as late as possible: the counter row stays locked from here until
        # the commit, and all that is left is the one INSERT below and the commit.
        case = draft
        case.number = await take_number(
            self.session, tenant_id=tenant_id, numbering=numbering, day=day
        )
        nickname = customer.nickname if customer else None
        case.search = vector_text(
            document_tokens(case.number, case.title, case.description, nickname)
        )
        case.created_at = case.updated_at = utcnow()
        for name in _TIMES:
            value = getattr(case, name)
            if value is not None:
                setattr(case, name, value.astimezone(dt.UTC))
        # The case and its other new rows go in together, in one statement.
        async with rows.together(self.session):
            await rows.insert(self.session, case, *clocks)
            registered = await add_event(
                self.session,
                case,
                type="registered",
                actor=self.actor,
                from_status=None,
                to_status=case.status,
                data={"number": case.number, "channel": case.channel, "kind": case.kind},
                visibility="customer",
            )
            await self.record(
                "case.create",
                "case",
                case.id,
                after=case_audit_shape(case),
            )
            await refresh_later(self.session, tenant_id=tenant_id, case_id=case.id)
            # Last, so the acknowledgement names the reply time the SLA set on the case.
            await notify_customer(self.session, case=case, event=ACKNOWLEDGEMENT, context={})
        # The plugins' findings refer to the stored case (tenants with plugins only).
        await plugin_run.settle(self.session, case, registered, actor=self.actor)
        return IntakeResult(case, created=True, customer=customer, public_token=token)

    async def _check(self, data: CaseCreate, zone: zoneinfo.ZoneInfo) -> _Checked:
        title = data.title.strip()
        if not title:
            raise _invalid("title", "title is empty")
        if not data.description.strip():
            raise _invalid("description", "description is empty")
        now = utcnow()
        received_at = local_time(data.received_at, zone) if data.received_at else now
        if received_at > now + _FUTURE_TOLERANCE:
            raise _invalid("received_at", "received_at lies in the future")
        problem_at = local_time(data.problem_at, zone) if data.problem_at else None
        if problem_at is not None and problem_at > now + _FUTURE_TOLERANCE:
            raise _invalid("problem_at", "problem_at lies in the future")
        channels = await current.channels(self.session)
        channel = next((c for c in channels if c.code == data.channel), None)
        if channel is None:
            codes = _codes(channels)
            raise _invalid("channel", f"unknown channel {data.channel!r}; channels are {codes}")
        demands = list(dict.fromkeys(d.strip() for d in data.demands))
        if demands:
            demand_types = await current.demand_types(self.session)
            known = {d.code for d in demand_types}
            unknown = [d for d in demands if d not in known]
            if unknown:
                codes = _codes(demand_types)
                raise _invalid(
                    "demands", f"unknown demand type {unknown[0]!r}; demand types are {codes}"
                )
        category = None
        if data.category_id is not None:
            category = await current.category(self.session, data.category_id)
            if category is None or not category.active:
                raise _invalid("category_id", "no such active category")
        severities = await current.severities(self.session)
        if data.severity_id is not None:
            severity = next((s for s in severities if s.id == data.severity_id), None)
            if severity is None:
                raise _invalid("severity_id", "no such active severity")
        else:
            severity = severities[0] if severities else None
        if data.customer is not None:
            await provide_customer_service(
                self.session, self.principal, self.settings
            ).check_pii_allowed(data.customer)
        return _Checked(
            title=title,
            received_at=received_at,
            problem_at=problem_at,
            channel=channel.code,
            demands=demands,
            category=category,
            severity=severity,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    title: str
    received_at: dt.datetime
    problem_at: dt.datetime | None
    channel: str
    demands: list[str]
    category: Category | None
    severity: Severity | None


def _codes(rows: list[Channel] | list[DemandType]) -> str:
    return ", ".join(r.code for r in rows) or "(none configured)"


def _invalid(field: str, message: str) -> UnprocessableEntity:
    return UnprocessableEntity(message, field=field)


def product_dict(product: ProductIn | None) -> dict[str, Any]:
    """The product as stored: the fields given, dates as ISO text."""
    if product is None:
        return {}
    return {k: v for k, v in jsonable(msgspec.structs.asdict(product)).items() if v is not None}
