"""Writing and verifying the audit chain.

Every change to a case, configuration, user or key, and every unmasked PII read,
calls `record()` inside the transaction that makes the change, so the entry exists
exactly when the change does: `record()` hands the entry to the session, which
writes it when the transaction commits and drops it when the transaction (or the
savepoint it was recorded in) rolls back; `closeloop.audit._chain` tells how.
Entries of one tenant form a chain: `hash = sha256(prev_hash + canonical JSON of the
entry)`, numbered by `seq` without gaps. `verify()` recomputes the chain and reports
the first entry that was altered, removed or moved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop import rows
from closeloop.audit._chain import GENESIS, entry_hash, flush_audit, hold
from closeloop.audit.models import AuditEntry
from closeloop.db import TenantNotBound, bound_tenant, new_id, utcnow, where_equal

__all__ = [
    "AuditQuery",
    "ChainReport",
    "diff",
    "digest_fields",
    "flush_audit",
    "jsonable",
    "list_entries",
    "record",
    "record_on_case",
    "record_update",
    "verify",
]


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types (what JSONB gives back), so hashes recompute exactly."""
    return json.loads(json.dumps(value, default=_default, ensure_ascii=False))


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    return str(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values changed, as (before, after)."""
    before, after = jsonable(before), jsonable(after)
    keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def digest_fields(values: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """`values` with the named free-text fields replaced by a digest of their content.

    Free text written by or about a customer may hold personal data, and audit entries
    can never be erased; the digest still shows that, and to what, a field changed.
    """
    out = dict(values)
    for name in fields:
        if out.get(name) is not None:
            text = json.dumps(out[name], sort_keys=True, ensure_ascii=False, default=_default)
            out[name] = {"sha256": hashlib.sha256(text.encode()).hexdigest(), "chars": len(text)}
    return out


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry to the bound tenant's chain, in the caller's transaction.

    The entry is written when the transaction commits (or earlier, see `flush_audit`);
    until then its `seq`, `prev_hash` and `hash` are None. Rolling back the transaction,
    or the savepoint the entry was recorded in, drops it.
    """
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise TenantNotBound("audit entries belong to a tenant; bind one first")
    # The caller's own changes are flushed here as before (their column defaults filled
    # in, their constraint errors raised where callers expect them); the entry waits.
    if session.new or session.dirty or session.deleted:
        await session.flush()
    entry = rows.new(
        AuditEntry,
        tenant_id=tenant_id,
        id=new_id(),
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )
    hold(session.sync_session, entry)
    return entry


async def record_on_case(
    session: AsyncSession,
    case_id: uuid.UUID,
    action: str,
    *,
    actor: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """`record` an entry about case `case_id`: the entries a case's audit trail lists."""
    return await record(
        session,
        actor=actor,
        action=action,
        entity_type="case",
        entity_id=case_id,
        before=before,
        after=after,
    )


async def record_update(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: uuid.UUID | None,
    before: dict[str, Any],
    after: dict[str, Any],
    flags: dict[str, Any] | None = None,
) -> bool:
    """Record an update as the diff of `before` and `after`, plus `flags` (e.g.
    `{"password_changed": True}`, never the secret itself); nothing when neither
    changed anything. True when an entry was recorded."""
    old, new = diff(before, after)
    new.update(flags or {})
    if not new:
        return False
    await record(
        session,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=old,
        after=new,
    )
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class ChainReport:
    ok: bool
    entries: int
    broken_at_seq: int | None = None
    entry_id: uuid.UUID | None = None
    reason: str | None = None


async def verify(session: AsyncSession, *, batch: int = 5000) -> ChainReport:
    """Walk the bound tenant's chain in `seq` order; stop at the first broken link."""
    await flush_audit(session)  # this transaction's own entries are part of the chain
    expected_seq, prev_hash, count = 1, GENESIS, 0
    last_seq = 0
    while True:
        # populate_existing: entries this session loaded earlier are re-read, not trusted.
        query = (
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
            .execution_options(populate_existing=True)
        )
        rows = (await session.scalars(query)).all()
        if not rows:
            return ChainReport(ok=True, entries=count)
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(
                    False,
                    count,
                    expected_seq,
                    entry.id,
                    f"entry {expected_seq} is missing (next present is {entry.seq})",
                )
            if entry.prev_hash != prev_hash:
                return ChainReport(
                    False,
                    count,
                    entry.seq,
                    entry.id,
                    f"entry {entry.seq} does not follow entry {entry.seq - 1}"
                    " (entries removed or reordered)",
                )
            if entry_hash(prev_hash, entry) != entry.hash:
                return ChainReport(
                    False,
                    count,
                    entry.seq,
                    entry.id,
                    f"entry {entry.seq} was altered after it was written",
                )
            prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
            last_seq = entry.seq


@dataclasses.dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of the audit listing; each given one must match. `before_seq` is the cursor."""

    entity_type: str | None = None
    entity_id: uuid.UUID | None = None
    actor: str | None = None
    action: str | None = None
    at_from: dt.datetime | None = None
    at_to: dt.datetime | None = None
    before_seq: int | None = None


async def list_entries(session: AsyncSession, query: AuditQuery, *, limit: int) -> list[AuditEntry]:
    """The bound tenant's entries matching `query`, newest (highest `seq`) first."""
    await flush_audit(session)
    statement = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    statement = where_equal(
        statement,
        (AuditEntry.entity_type, query.entity_type),
        (AuditEntry.entity_id, query.entity_id),
        (AuditEntry.actor, query.actor),
        (AuditEntry.action, query.action),
    )
    if query.at_from is not None:
        statement = statement.where(AuditEntry.at >= query.at_from)
    if query.at_to is not None:
        statement = statement.where(AuditEntry.at < query.at_to)
    if query.before_seq is not None:
        statement = statement.where(AuditEntry.seq < query.before_seq)
    return list((await session.scalars(statement)).all())
