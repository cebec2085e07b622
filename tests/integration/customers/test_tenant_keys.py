"""The tenant data key: made once, and never used unless its row was committed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.pii import cipher as cipher_module
from closeloop.pii.cipher import cipher_for, normalize_phone
from closeloop.pii.models import TenantKey
from closeloop.settings import Settings
from support import TenantHandle


class _Abort(Exception):
    pass


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
    cipher_module._cache.clear()  # as after a restart, or in another process
    async with transaction(factory, tenant.id) as session:
        assert (await cipher_for(session, settings)).decrypt(blob) == "13812345678"
        assert await session.scalar(select(func.count()).select_from(TenantKey)) == 1


@pytest.mark.parametrize(
    "phone", ["13812345678", "+86 138-1234-5678", "0086 138 1234 5678", "(138)1234-5678"]
)
def test_phone_formats_normalize_alike(phone: str) -> None:
    assert normalize_phone(phone) == "13812345678"
