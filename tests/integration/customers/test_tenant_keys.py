"""The tenant data key: made once, never used unless its row was committed, then kept
per process and tenant (a bounded number of tenants)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.pii import cipher as cipher_module
from closeloop.pii.cipher import cipher_for, normalize_phone
from closeloop.pii.models import TenantKey
from closeloop.settings import Settings
from support import TenantHandle


class _Abort(Exception):
    pass


@contextlib.contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL `engine` runs inside the block."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def test_a_key_made_in_a_rolled_back_transaction_is_not_reused(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)

    async def make_key_then_fail() -> None:
        async with transaction(factory, tenant.id) as session:
            await cipher_for(session, settings)
            raise _Abort

    with pytest.raises(_Abort):
        await make_key_then_fail()
    async with transaction(factory, tenant.id) as session:
        assert await session.scalar(select(func.count()).select_from(TenantKey)) == 0
        blob = (await cipher_for(session, settings)).encrypt("13812345678")
    cipher_module.clear_cache()  # as after a restart, or in another process
    async with transaction(factory, tenant.id) as session:
        assert (await cipher_for(session, settings)).decrypt(blob) == "13812345678"
        assert await session.scalar(select(func.count()).select_from(TenantKey)) == 1


@pytest.mark.parametrize(
    "phone", ["13812345678", "+86 138-1234-5678", "0086 138 1234 5678", "(138)1234-5678"]
)
def test_phone_formats_normalize_alike(phone: str) -> None:
    assert normalize_phone(phone) == "13812345678"


async def test_a_committed_key_is_kept_for_the_process(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        blob = (await cipher_for(session, settings)).encrypt("13812345678")  # made here
    async with transaction(factory, tenant.id) as session:
        with _statements(app_engine) as seen:
            cipher = await cipher_for(session, settings)
        assert seen == []  # neither the key nor its version is read again
        assert cipher.decrypt(blob) == "13812345678"


async def test_each_tenant_has_its_own_cipher(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    ciphers = {}
    for handle in (tenant, other_tenant, tenant, other_tenant):  # made, then kept
        async with transaction(factory, handle.id) as session:
            ciphers[handle.id] = await cipher_for(session, settings)
    mine, theirs = ciphers[tenant.id], ciphers[other_tenant.id]
    assert mine.tenant_id == tenant.id
    assert theirs.tenant_id == other_tenant.id
    assert mine.blind_index("phone", "13812345678") != theirs.blind_index("phone", "13812345678")
    with pytest.raises(InvalidTag):
        theirs.decrypt(mine.encrypt("13812345678"))


async def test_the_kept_ciphers_are_bounded(
    app_engine: AsyncEngine,
    settings: Settings,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cipher_module, "CACHE_SIZE", 1)
    cipher_module.clear_cache()
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        blob = (await cipher_for(session, settings)).encrypt("13812345678")
    async with transaction(factory, other_tenant.id) as session:
        await cipher_for(session, settings)
    assert len(cipher_module._cache) == 1
    async with transaction(factory, tenant.id) as session:  # pushed out: read again
        with _statements(app_engine) as seen:
            cipher = await cipher_for(session, settings)
        assert len(seen) == 1
        assert cipher.decrypt(blob) == "13812345678"


async def test_a_key_made_in_a_rolled_back_savepoint_is_not_reused(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    async with transaction(factory, tenant.id) as session:
        with pytest.raises(_Abort):
            async with session.begin_nested():
                await cipher_for(session, settings)
                raise _Abort
        # The savepoint took the key's row with it: a new key is made, not the lost one.
        blob = (await cipher_for(session, settings)).encrypt("13812345678")
    cipher_module.clear_cache()
    async with transaction(factory, tenant.id) as session:
        assert (await cipher_for(session, settings)).decrypt(blob) == "13812345678"
        assert await session.scalar(select(func.count()).select_from(TenantKey)) == 1


async def test_a_key_made_in_a_released_savepoint_waits_for_the_commit(
    app_engine: AsyncEngine, settings: Settings, tenant: TenantHandle
) -> None:
    factory = sessionmaker(app_engine)
    with pytest.raises(_Abort):
        async with transaction(factory, tenant.id) as session:
            async with session.begin_nested():
                lost = await cipher_for(session, settings)
            raise _Abort
    async with transaction(factory, tenant.id) as session:
        kept = await cipher_for(session, settings)
        assert await session.scalar(select(func.count()).select_from(TenantKey)) == 1
    assert kept is not lost
    blob = kept.encrypt("13812345678")
    with pytest.raises(InvalidTag):
        lost.decrypt(blob)
