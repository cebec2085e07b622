"""HTTP for the audit trail: browse entries, verify the chain (admins and supervisors)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from closeloop.audit.models import AuditEntry
from closeloop.audit.schemas import AuditEntryRead, AuditPage, ChainReportRead
from closeloop.audit.service import AuditQuery, list_entries, verify
from closeloop.errors import UnprocessableEntity
from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.times import ClientTime
from closeloop.web.deps import Caller, DbSession

__all__ = ["AuditController", "entry_read"]


def entry_read(entry: AuditEntry) -> AuditEntryRead:
    return AuditEntryRead(
        id=entry.id,
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        entity_type=entry.entity_type,
        entity_id=entry.entity_id,
        before=entry.before,
        after=entry.after,
        prev_hash=entry.prev_hash.hex(),
        hash=entry.hash.hex(),
    )


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise UnprocessableEntity("cursor is not one this API gave", field="cursor")
    return int(value)


class AuditController(Controller):
    path = "/api/v1/audit"
    tags = ("audit",)
    opt = access(Role.ADMIN, Role.SUPERVISOR)

    @get("/")
    async def list_audit(
        self,
        db_session: DbSession,
        principal: Caller,
        entity_type: FromQuery[str | None] = None,
        entity_id: FromQuery[uuid.UUID | None] = None,
        actor: FromQuery[str | None] = None,
        action: FromQuery[str | None] = None,
        from_: Annotated[
            ClientTime | None, QueryParameter(name="from", description="at or after")
        ] = None,
        to: Annotated[ClientTime | None, QueryParameter(description="before")] = None,
        cursor: Annotated[
            str | None, QueryParameter(description="`next_cursor` of the last page")
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> AuditPage:
        """Entries of the caller's tenant, newest first, filtered by every given criterion."""
        query = AuditQuery(
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            action=action,
            at_from=from_,
            at_to=to,
            before_seq=_cursor(cursor),
        )
        entries = await list_entries(db_session, query, limit=limit + 1)
        more = len(entries) > limit
        page = entries[:limit]
        return AuditPage(
            items=[entry_read(e) for e in page],
            next_cursor=str(page[-1].seq) if more else None,
        )

    @get("/verify")
    async def verify_chain(self, db_session: DbSession, principal: Caller) -> ChainReportRead:
        """Recompute the tenant's chain; `ok` false names the first altered, removed or
        moved entry."""
        report = await verify(db_session)
        return ChainReportRead(
            ok=report.ok,
            entries=report.entries,
            broken_at_seq=report.broken_at_seq,
            entry_id=report.entry_id,
            reason=report.reason,
        )
