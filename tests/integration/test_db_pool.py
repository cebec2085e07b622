"""Pooled connections the server dropped are replaced at checkout, not handed out."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import db
from closeloop.provision import Provisioned


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(superuser_url: str, pid: int) -> None:
    conn = await asyncpg.connect(superuser_url)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


@pytest.fixture
async def engine(database: Provisioned) -> AsyncEngine:
    made = db.create_engine(database.app_url, pool_size=1)
    yield made  # type: ignore[misc]
    await made.dispose()


async def test_a_connection_the_server_closed_is_replaced(
    engine: AsyncEngine, superuser_url: str
) -> None:
    first = await _backend_pid(engine)
    await _terminate(superuser_url, first)
    await asyncio.sleep(0.3)  # the event loop sees the socket close
    second = await _backend_pid(engine)
    assert second != first


async def test_an_idle_connection_is_pinged_before_use(
    engine: AsyncEngine, superuser_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    first = await _backend_pid(engine)
    await _terminate(superuser_url, first)  # no pause: only the ping can tell
    second = await _backend_pid(engine)
    assert second != first


async def test_a_busy_connection_is_not_pinged(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _backend_pid(engine)  # connected (and pinged, being new) before counting
    pings: list[object] = []
    async with engine.connect() as conn:
        adapted = type((await conn.get_raw_connection()).dbapi_connection)
    original = adapted.ping

    def counting_ping(self: object) -> None:
        pings.append(self)
        original(self)

    monkeypatch.setattr(adapted, "ping", counting_ping)
    first = await _backend_pid(engine)
    assert await _backend_pid(engine) == first
    assert pings == []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert await _backend_pid(engine) == first
    assert len(pings) == 1
