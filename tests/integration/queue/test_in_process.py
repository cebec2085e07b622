"""The embedded default: no BROKER_URL, the app process runs worker, relay and scheduler;
the relay wakes on commit; periodic sweeps fan out once per period to active tenants."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import queue_support as qs
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.queue.brokers import BrokerConfig
from closeloop.queue.relay import Relay
from closeloop.queue.schedule import Schedule
from closeloop.queue.scheduler import fan_out
from closeloop.settings import Settings
from closeloop.web.app import create_app
from support import make_tenant


@pytest.fixture
async def background_client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    assert settings.broker_url is None
    app = create_app(settings, background=True)
    async with AsyncTestClient(app=app) as client:
        yield client


async def test_the_app_process_runs_the_work_itself_without_a_broker(
    app_engine: AsyncEngine, background_client: AsyncTestClient[Litestar]
) -> None:
    tenant = await make_tenant(background_client, "inproc")
    await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect", note="embedded")

    async def ran() -> bool:
        return await qs.effects(app_engine, tenant.id) == 1

    await qs.eventually(ran)
    rows = await qs.outbox(app_engine, tenant.id)
    (row,) = [r for r in rows if r.actor_name == "queue_test_record_effect"]
    assert row.status == "sent"


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    app_engine: AsyncEngine, database: Provisioned, settings: Settings, tenant: object
) -> None:
    async with qs.running_worker(database.app_url, BrokerConfig(), settings=settings) as (
        broker,
        _,
    ):
        relay = Relay(app_engine, broker, poll_seconds=3600)  # polling would take an hour
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        try:
            await asyncio.sleep(0.3)  # the relay has drained and is listening
            await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect")  # type: ignore[attr-defined]

            async def ran() -> bool:
                return await qs.effects(app_engine, tenant.id) == 1  # type: ignore[attr-defined]

            await qs.eventually(ran)
        finally:
            stop.set()
            await task


async def test_a_periodic_sweep_fans_out_once_per_period_to_active_tenants(
    app_engine: AsyncEngine, client: AsyncTestClient[Litestar], tenant: object, other_tenant: object
) -> None:
    from support import OPERATOR

    suspended = await make_tenant(client, "sleepy")
    response = await client.post(f"/platform/v1/tenants/{suspended.slug}/suspend", headers=OPERATOR)
    assert response.status_code == 200
    sweep = Schedule(
        name="queue-test-sweep", every_seconds=3600, actor_name="queue_test_record_effect"
    )

    assert await fan_out(app_engine, sweep) == 2
    assert await fan_out(app_engine, sweep) == 0  # same period: nothing more
    for handle in (tenant, other_tenant):
        (row,) = await qs.outbox(app_engine, handle.id)  # type: ignore[attr-defined]
        assert (row.actor_name, row.args) == ("queue_test_record_effect", {})
    assert await qs.outbox(app_engine, suspended.id) == []


async def test_concurrent_schedulers_fan_out_a_period_once(
    app_engine: AsyncEngine, tenant: object
) -> None:
    sweep = Schedule(
        name="queue-test-race", every_seconds=3600, actor_name="queue_test_record_effect"
    )
    results = await asyncio.gather(*(fan_out(app_engine, sweep) for _ in range(4)))
    assert sorted(results) == [0, 0, 0, 1]
