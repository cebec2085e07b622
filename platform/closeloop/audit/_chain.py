"""Appending to the tenants' audit chains: entries wait in the session, written at commit.

`record()` builds an entry (all but `seq`, `prev_hash` and `hash`) and `hold()`s it in
the session (`session.info`), tagged with the transaction or savepoint it was recorded
in. It stays there until one of:

* the transaction commits: `before_commit` first flushes the transaction's other
  changes, then writes every held entry with one statement per tenant, however many
  entries there are: `audit_append()` (migration 0011) takes the chain's advisory
  lock, reads the chain's last entry, and numbers, hashes and inserts the entries in
  recording order. The application passes each entry's canonical JSON around its
  `seq` (`canonical_around_seq`), so the hash is the same as ever;
* the transaction reads the audit table (any ORM query that names `audit_entries`)
  or calls `flush_audit()`: the entries are written then, so a transaction still reads
  its own entries, as when `record()` wrote at once;
* the savepoint it was recorded in rolls back (`after_soft_rollback`): it is dropped,
  as the change it describes was; a rollback or close of the whole transaction drops
  everything.

Before, each `record()` took the lock and wrote at once (three statements per entry),
and the lock serialised a tenant's writers from their first entry to their commit.
Now it is held for that one statement and the COMMIT.

The chain is as strong as before: the lock still lets one writer at a time read the
chain's end and append after it, so `seq` stays gapless and every `prev_hash` names the
entry before; the hash is computed exactly as before, so existing rows verify. What
moves is the moment `seq` is taken: `seq` follows the order in which transactions
commit, `at` stays the moment of recording, so between concurrent transactions `at`
may run slightly backwards along `seq` (`verify` never compared `at`s). A transaction's
entries are consecutive in its tenant's chain.

Written early inside a savepoint, entries are in the database only as long as that
savepoint is: when it rolls back, the ones recorded outside it wait again and get
their `seq` at the next write. Entries recorded for several tenants in one transaction
(`tenant_scope()` called again) are written per tenant, in tenant id order (so two
such transactions cannot deadlock), each tenant bound in turn through `closeloop.db`
(`sync_tenant_scope`, as `tenant_scope()` binds one), then the one bound before again.

Limit: a root transaction committed while a savepoint in it is still open (a bare
`begin_nested()` never committed or rolled back) runs `before_commit` inside the
savepoint, where entries must wait; they are then not written, and an error is logged.
Use `async with session.begin_nested()` (the codebase always does).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from typing import Any, cast

from sqlalchemy import Table, event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.util import find_tables
from sqlalchemy.util import await_

from closeloop.audit.models import AuditEntry
from closeloop.db import bound_tenant, sync_tenant_scope, utcnow
from closeloop.logs import get_logger
from closeloop.rows import sync_driver

__all__ = ["GENESIS", "canonical_around_seq", "entry_hash", "flush_audit", "hold"]

GENESIS = bytes(32)
_HELD_KEY = "closeloop.audit.held"
_TABLE = cast(Table, AuditEntry.__table__)
# Its lock is in the advisory namespace 0x41554454 ("AUDT"), keyed by `_lock_id`.
_APPEND = "SELECT seq, prev_hash, hash FROM audit_append($1, $2, $3, $4)"

log = get_logger(__name__)


def entry_hash(prev_hash: bytes, entry: AuditEntry) -> bytes:
    """`sha256(prev_hash + canonical JSON of the entry)`; never change it, rows keep it.

    The canonical JSON is `json.dumps` of the entry's fields (tenant_id, id, seq, at in
    UTC with microseconds, actor, action, entity_type, entity_id, before, after) with
    sorted keys, no spaces and no ASCII escaping."""
    head, tail = canonical_around_seq(entry)
    return hashlib.sha256(prev_hash + (head + str(entry.seq) + tail).encode()).digest()


def canonical_around_seq(entry: AuditEntry) -> tuple[str, str]:
    """The entry's canonical JSON before and after the value of `seq`.

    In sorted order `seq` and `tenant_id` are the last keys, so the text is the other
    fields' canonical JSON, then `"seq":<n>`, then `"tenant_id":...`: the database can
    put in the number when it takes it (`audit_append()`, migration 0011)."""
    return _around_seq(_fields(entry), entry.tenant_id)


def _fields(entry: AuditEntry) -> dict[str, Any]:
    """The hashed fields but `seq` and `tenant_id`, as they are hashed (and as
    `audit_append()` stores them: `at` is exact to the microsecond)."""
    return {
        "id": str(entry.id),
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": str(entry.entity_id) if entry.entity_id else None,
        "before": entry.before,
        "after": entry.after,
    }


def _around_seq(fields: dict[str, Any], tenant_id: uuid.UUID) -> tuple[str, str]:
    rest = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return rest[:-1] + ',"seq":', ',"tenant_id":' + json.dumps(str(tenant_id)) + "}"


def _lock_id(tenant_id: uuid.UUID) -> int:
    return int.from_bytes(tenant_id.bytes[:4], "big", signed=True)


@dataclasses.dataclass(slots=True)
class _Held:
    entry: AuditEntry
    recorded_in: SessionTransaction
    written_in: SessionTransaction | None = None  # a savepoint, while it may still roll back


@dataclasses.dataclass(slots=True)
class _Backlog:
    """A session's entries, in the order recorded: the written ones (inside a savepoint
    still open) first, then the waiting ones."""

    held: list[_Held] = dataclasses.field(default_factory=list)
    writing: bool = False


def hold(session: Session, entry: AuditEntry) -> None:
    """Keep `entry` (all but `seq`, `prev_hash`, `hash`) until it is written."""
    where = session.get_nested_transaction() or session.get_transaction()
    if where is None:
        raise RuntimeError("audit entries are recorded inside a transaction")
    backlog = session.info.setdefault(_HELD_KEY, _Backlog())
    backlog.held.append(_Held(entry, where))


async def flush_audit(session: AsyncSession) -> None:
    """Write the entries this transaction recorded so far (nothing when there are none).

    ORM queries of `AuditEntry` do it themselves; call it before reading the table with
    plain SQL. From here to the end of the transaction, it holds the chain's lock.
    """
    backlog: _Backlog | None = session.info.get(_HELD_KEY)
    if backlog is not None and any(h.written_in is None for h in backlog.held):
        await session.run_sync(_write_held)


def _write_held(session: Session, *, at_commit: bool = False) -> None:
    """Append the waiting entries to their tenants' chains (sync; in the greenlet)."""
    backlog: _Backlog | None = session.info.get(_HELD_KEY)
    if backlog is None or backlog.writing:
        return
    waiting = [h for h in backlog.held if h.written_in is None]
    if waiting:
        backlog.writing = True
        try:
            if at_commit:
                session.flush()  # the transaction's other changes first, not under the lock
            _append_all(session, [h.entry for h in waiting])
        finally:
            backlog.writing = False
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        backlog.held.clear()  # only the end of the transaction itself can undo them now
    else:
        for held in waiting:
            held.written_in = savepoint


def _append_all(session: Session, entries: list[AuditEntry]) -> None:
    by_tenant: dict[uuid.UUID, list[AuditEntry]] = {}
    for entry in entries:
        by_tenant.setdefault(entry.tenant_id, []).append(entry)
    bound = visible = bound_tenant(session)
    # Tenants in one fixed order: two transactions appending to the same chains
    # cannot each hold the lock the other waits for.
    for tenant_id in sorted(by_tenant):
        if tenant_id != visible:  # recorded before the transaction bound another tenant
            sync_tenant_scope(session, tenant_id)
            visible = tenant_id
        _append(session, tenant_id, by_tenant[tenant_id])
    if visible != bound:
        sync_tenant_scope(session, bound)


def _append(session: Session, tenant_id: uuid.UUID, entries: list[AuditEntry]) -> None:
    """One statement, straight through the driver (`closeloop.rows`): `audit_append()`
    takes the chain's lock (held until the transaction ends), reads the chain's end,
    numbers, hashes and inserts the entries."""
    now = utcnow()
    payload = []
    for entry in entries:
        fields = _fields(entry)
        head, tail = _around_seq(fields, entry.tenant_id)
        payload.append({**fields, "head": head, "tail": tail})
    conn = sync_driver(session)
    written = await_(conn.fetch(_APPEND, tenant_id, _lock_id(tenant_id), now, json.dumps(payload)))
    for entry, row in zip(entries, written, strict=True):
        entry.seq, entry.prev_hash, entry.hash = row["seq"], bytes(row["prev_hash"]), row["hash"]
        entry.created_at = now


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # a released savepoint's entries keep waiting
        _write_held(session, at_commit=True)


@event.listens_for(Session, "do_orm_execute")
def _write_before_audit_read(state: ORMExecuteState) -> None:
    backlog: _Backlog | None = state.session.info.get(_HELD_KEY)
    if backlog is None or backlog.writing or not state.is_select:
        return
    statement = state.statement
    if (
        any(h.written_in is None for h in backlog.held)
        and isinstance(statement, ClauseElement)
        and _TABLE in find_tables(statement, include_crud=True, include_aliases=True)
    ):
        _write_held(state.session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    backlog: _Backlog | None = session.info.get(_HELD_KEY)
    if backlog is None:
        return
    kept: list[_Held] = []
    for held in backlog.held:
        if _within(held.recorded_in, previous_transaction):
            continue  # the change it describes was rolled back with it
        if _within(held.written_in, previous_transaction):
            held.written_in = None  # its row was: it waits for a new `seq`
        kept.append(held)
    backlog.held[:] = kept


@event.listens_for(Session, "after_commit")
def _check_all_written(session: Session) -> None:
    backlog: _Backlog | None = session.info.get(_HELD_KEY)
    if backlog is None or session.in_nested_transaction():
        return
    if any(h.written_in is None for h in backlog.held):
        # Only a root transaction committed while a savepoint in it was still open
        # gets here (its `before_commit` ran inside the savepoint).
        log.error(
            "audit entries not written: a transaction committed with a savepoint open",
            entries=[h.entry.action for h in backlog.held if h.written_in is None],
        )


@event.listens_for(Session, "after_transaction_end")
def _forget_held(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_HELD_KEY, None)
