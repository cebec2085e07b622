"""A summary's statements on two connections (closeloop.reports.lanes): both on one
snapshot, as the caller's role and tenant with the report's settings, and the figures
those of one session (through the API too); the caller's session alone when the lanes
could not see what it wrote to the facts, or when its pool has no connections to
spare."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import msgspec
import scenario
from proof_support import local
from sqlalchemy import event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from closeloop.db import create_engine, sessionmaker, tenant_scope, transaction
from closeloop.provision import Provisioned
from closeloop.reports.engine import READ, REPORT_SETTINGS, report_settings
from closeloop.reports.lanes import LANES, lanes
from closeloop.reports.models import CaseFacts, OrderVolume
from closeloop.reports.params import report_query
from closeloop.reports.schemas import ReportQuery
from closeloop.reports.service import ReportService
from closeloop.settings import Settings
from support import Client, TenantHandle


@contextlib.contextmanager
def statements_by_connection(engine: AsyncEngine) -> Iterator[dict[int, list[str]]]:
    """The statements sent meanwhile, by the driver connection that sent them."""
    sent: dict[int, list[str]] = {}

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.setdefault(id(conn.connection.dbapi_connection), []).append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def reading_facts(sent: dict[int, list[str]]) -> set[int]:
    """The connections that read the facts or the clocks."""
    return {
        conn
        for conn, statements in sent.items()
        if any("FROM case_facts" in s or "FROM sla_clocks" in s for s in statements)
    }


def a_volume(tenant: TenantHandle) -> OrderVolume:
    """An order volume: a row of a table the summary's statements do not read."""
    return OrderVolume(
        tenant_id=tenant.id, date_from=dt.date(2031, 1, 1), date_to=dt.date(2031, 1, 31), orders=7
    )


async def own_connection(session: AsyncSession) -> int:
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return id(raw.dbapi_connection)


async def summary_of(
    engine: AsyncEngine, tenant: TenantHandle, settings: Settings, query: ReportQuery, **kw: Any
) -> tuple[dict[str, Any], set[int], int]:
    """The summary (without its time of making), the connections that read facts or
    clocks for it, and the session's own connection."""
    async with transaction(sessionmaker(engine), tenant.id) as session:
        mine = await own_connection(session)
        with statements_by_connection(engine) as sent:
            found = await ReportService(session, principal=None, settings=settings).summary(
                query, **kw
            )
    plain: dict[str, Any] = msgspec.to_builtins(found)
    plain.pop("generated_at")
    return plain, reading_facts(sent), mine


async def test_two_lanes_give_the_figures_of_one_session(
    client: Client,
    app_engine: AsyncEngine,
    tenant: TenantHandle,
    settings: Settings,
    database: Provisioned,
    month: scenario.World,
) -> None:
    pool = app_engine.sync_engine.pool
    checked_out = pool.checkedout()  # type: ignore[attr-defined]
    for params in ({"period": "2026-11", "group_by": "week"}, {"period": "2026-11"}):
        query = report_query(**params)
        merged, readers, mine = await summary_of(app_engine, tenant, settings, query)
        plain, plain_readers, plain_mine = await summary_of(
            app_engine, tenant, settings, query, merged=False
        )
        assert merged == plain, f"{params}: two lanes differ from one session"
        assert merged["metrics"]["volume"]["value"], "nothing counted proves nothing"
        # The facts were read on two connections, neither the session's own.
        assert len(readers) == LANES
        assert mine not in readers
        assert plain_readers == {plain_mine}
    # Every lane went back to the pool.
    assert pool.checkedout() == checked_out  # type: ignore[attr-defined]

    # Through the API (the request's own transaction, its caller resolved in it): the
    # same figures, read on two connections.
    served: AsyncEngine = client.app.state.engine
    with statements_by_connection(served) as sent:
        response = await client.get(
            "/api/v1/reports/summary", headers=tenant.headers, params={"period": "2026-11"}
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    answer.pop("generated_at")
    assert answer == merged
    assert len(reading_facts(sent)) == LANES

    # A pool with no connections to spare: the session alone, the same figures.
    small = create_engine(database.app_url, pool_size=1)
    try:
        alone, readers, mine = await summary_of(small, tenant, settings, query)
    finally:
        await small.dispose()
    assert readers == {mine}
    assert alone == merged


async def test_a_session_that_wrote_facts_counts_them_alone_and_other_writes_keep_lanes(
    app_engine: AsyncEngine, tenant: TenantHandle, settings: Settings, month: scenario.World
) -> None:
    query = report_query(period="2026-11")
    before, _, _ = await summary_of(app_engine, tenant, settings, query)
    start, end = local(2026, 11, 1), local(2026, 12, 1)
    received = (CaseFacts.received_at >= start) & (CaseFacts.received_at < end)
    async with sessionmaker(app_engine)() as session:
        await tenant_scope(session, tenant.id)
        # Another table written, not committed: the figures do not read it, so lanes.
        session.add(a_volume(tenant))
        await session.flush()
        mine = await own_connection(session)
        with statements_by_connection(app_engine) as sent:
            found = await ReportService(session, principal=None, settings=settings).summary(query)
        assert mine not in reading_facts(sent)
        assert len(reading_facts(sent)) == LANES
        assert found.metrics["volume"].value == before["metrics"]["volume"]["value"]

        # A fact changed, not committed: a new transaction would not see it, so no lanes.
        one = await session.scalar(
            select(CaseFacts.id).where(received, CaseFacts.merged.is_(False)).limit(1)
        )
        await session.execute(update(CaseFacts).where(CaseFacts.id == one).values(merged=True))
        with statements_by_connection(app_engine) as sent:
            found = await ReportService(session, principal=None, settings=settings).summary(query)
        assert reading_facts(sent) == {mine}
        assert found.metrics["volume"].value == before["metrics"]["volume"]["value"] - 1
        await session.rollback()


async def test_the_lanes_share_one_snapshot_as_the_tenant_with_the_report_settings(
    app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    volumes = select(func.count()).select_from(OrderVolume)
    prepared: list[AsyncSession] = []

    async def prepare(lane: AsyncSession) -> None:
        """The report's settings; and, once the first lane has its snapshot, a row
        committed by another transaction (the second lane must not see it)."""
        await report_settings(lane)
        prepared.append(lane)
        if len(prepared) == 1:
            async with transaction(sessionmaker(app_engine), tenant.id) as other:
                other.add(a_volume(tenant))

    async with (
        transaction(sessionmaker(app_engine), tenant.id) as session,
        lanes(session, prepare, READ) as opened,
    ):
        assert len(opened) == LANES
        assert opened == prepared
        for lane in opened:
            found = (
                await lane.execute(
                    text(
                        "SELECT current_setting('transaction_isolation'), "
                        "current_setting('transaction_read_only'), "
                        "current_setting('app.tenant_id'), current_user, "
                        + ", ".join(f"current_setting('{name}')" for name in REPORT_SETTINGS)
                    )
                )
            ).one()
            assert tuple(found[:3]) == ("repeatable read", "on", str(tenant.id))
            assert found[3] == await session.scalar(text("SELECT current_user"))
            assert tuple(found[4:]) == tuple(REPORT_SETTINGS.values())
        # Committed after the first lane took its snapshot: neither lane sees it,
        # the caller's own (READ COMMITTED) transaction does.
        assert [await lane.scalar(volumes) for lane in opened] == [0, 0]
        assert await session.scalar(volumes) == 1
