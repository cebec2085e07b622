"""Actor logic on Dramatiq's StubBroker and a real `dramatiq.Worker`: the relay, exactly
once in effect, retries and dead letters, delays, periodic sweeps."""

from __future__ import annotations

from collections.abc import AsyncIterator

import dramatiq
import pytest
import queue_support as qs
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.queue.brokers import BrokerConfig
from closeloop.queue.relay import Relay
from closeloop.settings import Settings
from support import OPERATOR, Client, TenantHandle

FAST = BrokerConfig(min_backoff_ms=10, max_backoff_ms=50)


@pytest.fixture
async def stub(
    database: Provisioned, settings: Settings
) -> AsyncIterator[tuple[dramatiq.Broker, qs.Seen]]:
    async with qs.running_worker(database.app_url, FAST, settings=settings) as running:
        yield running


@pytest.fixture
def stub_broker(stub: tuple[dramatiq.Broker, qs.Seen]) -> dramatiq.Broker:
    return stub[0]


@pytest.fixture
def seen(stub: tuple[dramatiq.Broker, qs.Seen]) -> qs.Seen:
    return stub[1]


async def test_a_committed_change_is_delivered_and_its_actor_runs_once(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, tenant: TenantHandle
) -> None:
    row = await qs.enqueue_committed(
        app_engine, tenant.id, "queue_test_record_effect", note="hello"
    )
    assert await Relay(app_engine, stub_broker).drain() == 1

    async def ran() -> bool:
        return await qs.effects(app_engine, tenant.id) == 1

    await qs.eventually(ran)
    (sent,) = await qs.outbox(app_engine, tenant.id)
    assert (sent.id, sent.status, sent.attempts) == (row.id, "sent", 1)
    assert await Relay(app_engine, stub_broker).drain() == 0  # nothing is sent twice


async def test_a_relay_killed_between_send_and_mark_resends_and_the_effect_happens_once(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, seen: qs.Seen, tenant: TenantHandle
) -> None:
    class DiesBeforeMarking(Relay):
        async def mark_sent(self, session: object, rows: object) -> None:
            raise SystemError("relay killed after sending")

    row = await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect")
    with pytest.raises(SystemError):
        await DiesBeforeMarking(app_engine, stub_broker).run_once()
    (still_pending,) = await qs.outbox(app_engine, tenant.id)
    assert still_pending.status == "pending"

    assert await Relay(app_engine, stub_broker).drain() == 1  # restarted: sends it again

    await qs.eventually(lambda: _handled(seen, row.id, 2))  # both deliveries reached the worker
    assert await qs.effects(app_engine, tenant.id) == 1
    assert await qs.processed(app_engine, tenant.id) == 1
    (sent,) = await qs.outbox(app_engine, tenant.id)
    assert sent.status == "sent"


async def _effects_are(engine: AsyncEngine, tenant: TenantHandle, count: int) -> bool:
    return await qs.effects(engine, tenant.id) == count


async def _handled(seen: qs.Seen, message_id: object, times: int) -> bool:
    return seen.count(message_id) == times


async def test_a_redelivered_message_is_a_no_op(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, seen: qs.Seen, tenant: TenantHandle
) -> None:
    await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect")
    relay = Relay(app_engine, stub_broker)
    await relay.drain()
    await qs.eventually(lambda: _effects_are(app_engine, tenant, 1))
    (row,) = await qs.outbox(app_engine, tenant.id)

    # The broker hands the same message over again (e.g. a worker died before its ack).
    again = relay.message(row)
    stub_broker.enqueue(again)
    await qs.eventually(lambda: _handled(seen, row.id, 2))
    assert await qs.effects(app_engine, tenant.id) == 1
    assert await qs.processed(app_engine, tenant.id) == 1


async def test_a_poisoned_message_is_retried_with_backoff_then_dead_lettered(
    app_engine: AsyncEngine,
    stub_broker: dramatiq.Broker,
    tenant: TenantHandle,
    client: Client,
) -> None:
    row = await qs.enqueue_committed(app_engine, tenant.id, "queue_test_poisoned", case_id="C-1")
    await Relay(app_engine, stub_broker).drain()

    async def dead() -> bool:
        return len(await qs.dead_letters(app_engine, tenant.id)) == 1

    await qs.eventually(dead)
    assert qs.RUNS.count(str(row.id)) == 3  # the first attempt and max_retries=2 retries
    (letter,) = await qs.dead_letters(app_engine, tenant.id)
    assert (letter.message_id, letter.actor_name, letter.reason, letter.retries) == (
        row.id,
        "queue_test_poisoned",
        "retries_exhausted",
        3,
    )
    assert letter.args == {"case_id": "C-1"}
    assert letter.error.startswith("ValueError: case C-1 cannot be handled")
    assert await qs.processed(app_engine, tenant.id) == 0

    response = await client.get("/platform/v1/dead-letters", headers=OPERATOR)
    assert response.status_code == 200, response.text
    (listed,) = response.json()
    assert listed["message_id"] == str(row.id)
    assert listed["tenant"] == tenant.slug
    assert listed["reason"] == "retries_exhausted"
    assert (await client.get("/platform/v1/dead-letters")).status_code == 401
    assert (
        await client.get("/platform/v1/dead-letters", headers=tenant.headers)
    ).status_code == 401


async def test_an_error_declared_in_throws_is_dead_lettered_without_retries(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, tenant: TenantHandle
) -> None:
    row = await qs.enqueue_committed(app_engine, tenant.id, "queue_test_refusing")
    await Relay(app_engine, stub_broker).drain()

    async def dead() -> bool:
        return len(await qs.dead_letters(app_engine, tenant.id)) == 1

    await qs.eventually(dead)
    (letter,) = await qs.dead_letters(app_engine, tenant.id)
    assert (letter.reason, letter.retries) == ("not_retried", 0)
    assert qs.RUNS.count(str(row.id)) == 1


async def test_a_delayed_message_waits_in_the_outbox_until_due(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, tenant: TenantHandle
) -> None:
    await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect", delay_ms=60_000)
    await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect", delay_ms=300)
    relay = Relay(app_engine, stub_broker)
    assert await relay.drain() == 0

    async def due_one_sent() -> bool:
        await relay.drain()
        return [m.status for m in await qs.outbox(app_engine, tenant.id)].count("sent") == 1

    await qs.eventually(due_one_sent)
    await qs.eventually(lambda: _effects_are(app_engine, tenant, 1))


async def test_an_actor_logs_with_the_enqueuing_request_tenant_and_actor(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, tenant: TenantHandle
) -> None:
    structlog.contextvars.bind_contextvars(request_id="req-queue-test")
    try:
        row = await qs.enqueue_committed(app_engine, tenant.id, "queue_test_log_context")
    finally:
        structlog.contextvars.clear_contextvars()
    await Relay(app_engine, stub_broker).drain()

    async def logged() -> bool:
        return any(c.get("message_id") == str(row.id) for c in qs.CONTEXTS)

    await qs.eventually(logged)
    (context,) = [c for c in qs.CONTEXTS if c.get("message_id") == str(row.id)]
    assert context == {
        "request_id": "req-queue-test",
        "message_id": str(row.id),
        "tenant_id": str(tenant.id),
        "actor": "queue_test_log_context",
    }


async def test_a_job_over_its_time_limit_is_stopped_and_its_effects_rolled_back(
    app_engine: AsyncEngine, stub_broker: dramatiq.Broker, tenant: TenantHandle
) -> None:
    await qs.enqueue_committed(app_engine, tenant.id, "queue_test_slow")
    await Relay(app_engine, stub_broker).drain()

    async def dead() -> bool:
        return len(await qs.dead_letters(app_engine, tenant.id)) == 1

    await qs.eventually(dead)
    (letter,) = await qs.dead_letters(app_engine, tenant.id)
    assert letter.error.startswith("TimeLimitExceeded")
    assert await qs.effects(app_engine, tenant.id) == 0
    assert await qs.processed(app_engine, tenant.id) == 0
