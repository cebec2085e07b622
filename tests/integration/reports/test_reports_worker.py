"""The report facts kept live by the real actor: lifecycle actions go through the
outbox, the relay and a Dramatiq worker (on the StubBroker) to `refresh_case_facts`."""

from __future__ import annotations

import asyncio
import time

from reports_support import department, facts_of, new_case, resolve, staff
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.queue import runtime
from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker
from closeloop.queue.relay import Relay
from closeloop.settings import Settings
from support import Client, TenantHandle

FAST = BrokerConfig(min_backoff_ms=10, max_backoff_ms=50)


async def test_the_worker_keeps_the_facts_of_a_case_live(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    logistics = await department(client, tenant, "logistics")
    handler = await staff(client, tenant, "handler")
    case_id = await new_case(client, tenant, channel="web")
    await resolve(client, tenant, case_id, handler, logistics)

    runtime.configure(str(settings.database_url), settings=settings, pool_size=2)
    broker = make_broker(FAST)
    worker = await asyncio.to_thread(start_worker, broker, threads=2, timeout_ms=100)
    try:
        assert await Relay(app_engine, broker).drain() >= 5
        deadline = time.monotonic() + 20
        while True:
            facts = await facts_of(app_engine, tenant.id, case_id)
            if facts is not None and facts.first_resolved_at is not None:
                break
            assert time.monotonic() < deadline, "the worker did not refresh the facts"
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        broker.close()
        runtime.reset()
    assert facts.resolved_by == handler[0]
    assert facts.channel == "web"
    assert facts.responsible_party == "third_party"
