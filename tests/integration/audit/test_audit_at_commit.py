"""Entries wait in the session and are written when the transaction commits: what a
rollback, a savepoint, a read in the same transaction and concurrent writers do to them."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from closeloop.audit.models import AuditEntry
from closeloop.audit.service import AuditQuery, flush_audit, list_entries, record, verify
from closeloop.db import sessionmaker, tenant_scope, transaction
from support import TenantHandle, sql_statements


class _Undo(Exception):
    """Raised inside a savepoint to roll it back."""


async def _record(session: AsyncSession, action: str, **after: Any) -> AuditEntry:
    return await record(
        session, actor="test", action=action, entity_type="test", after=after or None
    )


async def _chain(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[AuditEntry]:
    """The tenant's entries in `seq` order, after checking that the chain verifies."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        report = await verify(session)
        assert report.ok, report
        entries = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    return entries


def _ours(entries: list[AuditEntry]) -> list[str]:
    """The actions this test recorded (the tenant's own creation left entries too)."""
    return [e.action for e in entries if e.actor == "test"]


async def test_entries_of_one_transaction_get_consecutive_seq_and_a_valid_chain(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    before = len(await _chain(app_engine, tenant.id))
    with sql_statements() as seen:
        async with transaction(sessionmaker(app_engine), tenant.id) as session:
            recorded = [await _record(session, f"test.{n}", n=n) for n in range(5)]
            assert all(e.seq is None and e.hash is None for e in recorded)  # not yet written
    statements = [
        s for s in seen if re.search(r"audit_entries|audit_append|pg_advisory_xact_lock", s)
    ]
    # One statement appends the five entries: audit_append() locks, reads the chain's
    # end, numbers, hashes and inserts.
    assert len(statements) == 1, statements
    assert [e.seq for e in recorded] == list(range(before + 1, before + 6))
    entries = await _chain(app_engine, tenant.id)
    assert _ours(entries) == [f"test.{n}" for n in range(5)]
    assert [e.hash for e in entries[before:]] == [e.hash for e in recorded]
    assert recorded[0].prev_hash == entries[before - 1].hash


async def test_entries_recorded_in_a_rolled_back_savepoint_are_not_written(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await _record(session, "test.kept.before")
        with pytest.raises(_Undo):
            async with session.begin_nested():
                await _record(session, "test.undone.outer")
                async with session.begin_nested():  # released, then undone with its parent
                    await _record(session, "test.undone.inner")
                raise _Undo
        async with session.begin_nested():  # released: its entry stays
            await _record(session, "test.kept.released")
        with pytest.raises(_Undo):
            async with session.begin_nested():
                await _record(session, "test.undone.alone")
                raise _Undo
        await _record(session, "test.kept.after")
    assert _ours(await _chain(app_engine, tenant.id)) == [
        "test.kept.before",
        "test.kept.released",
        "test.kept.after",
    ]


async def test_a_rolled_back_transaction_writes_nothing_and_leaves_nothing_behind(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with sessionmaker(app_engine)() as session:
        async with session.begin():
            await tenant_scope(session, tenant.id)
            await _record(session, "test.undone")
            await session.rollback()
        async with session.begin():  # the same session, a new transaction
            await tenant_scope(session, tenant.id)
            await _record(session, "test.kept")
    assert _ours(await _chain(app_engine, tenant.id)) == ["test.kept"]


async def test_a_transaction_reads_its_own_entries(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        await _record(session, "test.first")
        report = await verify(session)
        listed = await list_entries(session, AuditQuery(actor="test"), limit=10)
        assert report.ok
        assert [e.action for e in listed] == ["test.first"]
        await _record(session, "test.second")
        # Any ORM query of the table sees the entries recorded so far.
        count = len(list(await session.scalars(select(AuditEntry.id))))
        assert count == report.entries + 1
    assert _ours(await _chain(app_engine, tenant.id)) == ["test.first", "test.second"]


async def test_entries_written_early_in_a_savepoint_that_rolls_back_are_written_again(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        kept = await _record(session, "test.kept")
        with pytest.raises(_Undo):
            async with session.begin_nested():
                await _record(session, "test.undone")
                await flush_audit(session)  # both written, inside the savepoint
                assert kept.seq is not None
                raise _Undo
        await _record(session, "test.also_kept")
    assert _ours(await _chain(app_engine, tenant.id)) == ["test.kept", "test.also_kept"]


async def test_one_transaction_may_record_for_two_tenants(
    app_engine: AsyncEngine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    # Both orders: chains are appended in tenant id order, whichever is bound at the end.
    for first, second in ((tenant, other_tenant), (other_tenant, tenant)):
        async with transaction(sessionmaker(app_engine), first.id) as session:
            await _record(session, f"test.{first.slug}")
            await tenant_scope(session, second.id)
            await _record(session, f"test.{second.slug}")
            await flush_audit(session)
            # Row-level security points at the bound tenant again.
            mine = list(await session.scalars(select(AuditEntry).where(AuditEntry.actor == "test")))
            assert {e.tenant_id for e in mine} == {second.id}
    for handle in (tenant, other_tenant):
        assert _ours(await _chain(app_engine, handle.id)) == [f"test.{handle.slug}"] * 2


async def test_concurrent_writers_in_one_tenant_keep_a_valid_chain(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    before = len(await _chain(app_engine, tenant.id))
    factory = sessionmaker(app_engine)

    async def write(writer: int) -> None:
        async with transaction(factory, tenant.id) as session:
            for n in range(3):
                await _record(session, "test.concurrent", writer=writer, n=n)
                await asyncio.sleep(0.001 * (writer % 3))

    await asyncio.gather(*(write(w) for w in range(12)))
    entries = (await _chain(app_engine, tenant.id))[before:]
    assert len(entries) == 36
    # Each transaction's entries were appended together, in the order recorded.
    for start in range(0, 36, 3):
        group = entries[start : start + 3]
        assert len({e.after["writer"] for e in group if e.after}) == 1
        assert [e.after["n"] for e in group if e.after] == [0, 1, 2]
