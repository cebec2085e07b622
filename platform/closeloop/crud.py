"""The audited CRUD service: what every configuration service shares.

A service for one tenant-owned table (categories, SLA policies, calendars, templates,
webhooks, users, ...) subclasses `AuditedService`, names its `model`, its audit
`entity` and the `label` of its "no such ..." answer, says what the audit trail keeps
of a row (`snapshot`), and writes its own rules in `create` and `update`. The base
gives it the shape every service has (`Service(session, *, actor, settings)`), the
tenant, `list`, `get` (404), `delete` (refusals first, audited), and the audit entries
`<entity>.create`, `<entity>.update` and `<entity>.delete` in the caller's transaction.

The shape itself is `Service` (`tenant()`: the bound tenant); a service acting for a
caller who may be nobody (the public forms) is a `CallerService`, and one for which
nobody is the system (reports) a `TenantCallerService`. Both write audit entries as their actor with
`record` (`Audits`). `read_as` fills an answer from a row's attributes of the same names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import record, record_update
from closeloop.db import required_tenant
from closeloop.errors import ApiError, Conflict, NotFound
from closeloop.identity.principal import Principal
from closeloop.settings import Settings

__all__ = [
    "AuditedService",
    "Audits",
    "CallerService",
    "Service",
    "TenantCallerService",
    "fields_of",
    "read_as",
]

M = TypeVar("M")
R = TypeVar("R", bound=msgspec.Struct)


def fields_of(row: Any, names: Sequence[str]) -> dict[str, Any]:
    """`{name: row.name}` for `names`: a row's snapshot, or the fields of its answer."""
    return {name: getattr(row, name) for name in names}


def read_as(read_type: type[R], row: Any, **computed: Any) -> R:
    """The answer `read_type` filled from the row's attributes of the same names, but
    for the fields given in `computed`."""
    return read_type(
        **{
            name: computed[name] if name in computed else getattr(row, name)
            for name in read_type.__struct_fields__
        }
    )


class Audits:
    """What a service writes to the audit trail: an entry as its `actor`, in its
    session's transaction."""

    session: AsyncSession
    actor: str

    async def record(
        self,
        action: str,
        entity_type: str,
        entity_id: uuid.UUID,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await record(
            self.session,
            actor=self.actor,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
        )


class Service(Audits):
    """The shape every service has: its session, keyword `actor` (what the audit trail
    names), `settings`."""

    def __init__(
        self, session: AsyncSession, *, actor: str = "system", settings: Settings | None = None
    ) -> None:
        self.session = session
        self.actor = actor
        self.settings = settings

    def tenant(self) -> uuid.UUID:
        """The tenant bound to the session (raises when none is)."""
        return required_tenant(self.session, type(self).__name__)


class CallerService(Audits):
    """A service acting for a caller: `principal` is None for the public forms, whose
    writes the audit trail names `public`; `actor` names who the trail records instead
    for work done on someone's behalf without a principal (an import run names the
    admin who started it)."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        principal: Principal | None,
        settings: Settings,
        actor: str | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.principal = principal
        if actor is None:
            actor = principal.actor if principal is not None else "public"
        self.actor = actor


class TenantCallerService(CallerService):
    """A `CallerService` of the tenant bound to the session (`tenant_id`; raises when
    none is), for which `principal` None is the system (the CLI, scheduled work): its
    audit entries name `system`."""

    def __init__(
        self, session: AsyncSession, *, principal: Principal | None, settings: Settings
    ) -> None:
        actor = principal.actor if principal is not None else "system"
        super().__init__(session, principal=principal, settings=settings, actor=actor)
        self.tenant_id = required_tenant(session, type(self).__name__)


class AuditedService(Service, Generic[M]):
    """List, read, create, change and delete the rows of `model` in the bound tenant;
    every write is audited as `actor`."""

    model: ClassVar[type[Any]]
    entity: ClassVar[str]  # the audit entity type and the prefix of its actions
    label: ClassVar[str]  # "no such <label>"
    actions: ClassVar[str] = ""  # the prefix of its audit actions when not `entity`

    def ordering(self) -> tuple[Any, ...]:
        """The order `list` answers in."""
        return (self.model.id,)

    async def snapshot(self, row: M) -> dict[str, Any]:
        """What the audit trail keeps of a row (never a secret)."""
        raise NotImplementedError

    async def list(self) -> Sequence[M]:
        return (await self.session.scalars(select(self.model).order_by(*self.ordering()))).all()

    async def get(self, item_id: uuid.UUID) -> M:
        row: M | None = await self.session.get(self.model, (self.tenant(), item_id))
        if row is None:
            raise NotFound(f"no such {self.label}")
        return row

    async def insert(
        self, row: M, conflict: Callable[[IntegrityError], ApiError] | None = None
    ) -> M:
        """Add a new row in a savepoint; a constraint it breaks (a concurrent request won
        the race for a unique code) is answered with `conflict(exc)`."""
        try:
            async with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError as exc:
            if conflict is None:
                raise
            raise conflict(exc) from None
        return row

    async def audit(
        self,
        action: str,
        entity_id: uuid.UUID,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        await self.record(
            f"{self.actions or self.entity}.{action}",
            self.entity,
            entity_id,
            before=before,
            after=after,
        )

    async def audit_create(self, row: Any) -> None:
        await self.audit("create", row.id, after=await self.snapshot(row))

    async def audit_update(
        self, row: Any, before: dict[str, Any], *, flags: dict[str, Any] | None = None
    ) -> None:
        """Flush the change and record it as the difference from `before` (nothing when
        nothing changed), plus `flags` (`{"secret_changed": True}`, never the secret)."""
        await self.session.flush()
        await record_update(
            self.session,
            actor=self.actor,
            action=f"{self.actions or self.entity}.update",
            entity_type=self.entity,
            entity_id=row.id,
            before=before,
            after=await self.snapshot(row),
            flags=flags,
        )

    async def check_delete(self, row: M) -> None:
        """Refuse to delete `row` (raise); the base refuses to delete the tenant's
        default (a row whose `is_default` is true)."""
        if getattr(row, "is_default", False):
            noun = self.label.split()[-1]
            raise Conflict(
                f"the default {self.label} cannot be deleted; make another {noun} the default "
                "first",
                field="is_default",
            )

    def in_use(self, row: M) -> ApiError | None:
        """The answer when the database refuses the delete (rows still refer to it)."""
        return None

    async def delete(self, item_id: uuid.UUID) -> None:
        row = await self.get(item_id)
        await self.check_delete(row)
        before = await self.snapshot(row)
        try:
            async with self.session.begin_nested():
                await self.session.delete(row)
                await self.session.flush()
        except IntegrityError:
            refusal = self.in_use(row)
            if refusal is None:
                raise
            raise refusal from None
        await self.audit("delete", item_id, before=before)
