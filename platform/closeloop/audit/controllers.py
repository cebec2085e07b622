"""HTTP for the audit trail: browse entries, verify the chain (admins and supervisors)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from closeloop.audit.models import AuditEntry
from closeloop.audit.schemas import AuditEntryRead, AuditPage, ChainReportRead
from closeloop.audit.service import AuditQuery, list_entries, verify
from closeloop.crud import read_as
from closeloop.identity.access import access
from closeloop.identity.models import Role
from closeloop.paging import decode_cursor, page
from closeloop.times import ClientTime
from closeloop.web.deps import Caller, DbSession

__all__ = ["AuditController", "entry_read"]


def entry_read(entry: AuditEntry) -> AuditEntryRead:
    return read_as(AuditEntryRead, entry, prev_hash=entry.prev_hash.hex(), hash=entry.hash.hex())


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
            before_seq=decode_cursor(cursor, (int,))[0] if cursor else None,
        )
        entries, next_cursor = page(
            await list_entries(db_session, query, limit=limit + 1), limit, lambda e: (e.seq,)
        )
        return AuditPage(items=[entry_read(e) for e in entries], next_cursor=next_cursor)

    @get("/verify")
    async def verify_chain(self, db_session: DbSession, principal: Caller) -> ChainReportRead:
        """Recompute the tenant's chain; `ok` false names the first altered, removed or
        moved entry."""
        report = await verify(db_session)
        return read_as(ChainReportRead, report)
