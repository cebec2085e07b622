"""Delivery through the real brokers: RabbitMQ (production) and Redis (supported).

With CLOSELOOP_REQUIRE_SERVICES=1 a broker that cannot be reached fails the test;
otherwise it is skipped. Each run declares its own queues (a prefix with the process
id and a random part), so parallel runs never take each other's messages, and deletes
them afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import dramatiq
import pytest
import queue_support as qs
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.queue.brokers import BrokerConfig
from closeloop.queue.relay import Relay
from closeloop.settings import Settings
from support import TenantHandle

AMQP_URL = os.environ.get("CLOSELOOP_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("CLOSELOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _unavailable(reason: str) -> None:
    if os.environ.get("CLOSELOOP_REQUIRE_SERVICES") == "1":
        pytest.fail(f"CLOSELOOP_REQUIRE_SERVICES=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def _prefix() -> str:
    return f"t{os.getpid()}{uuid.uuid4().hex[:6]}."


def _check_rabbitmq() -> None:
    import pika

    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except Exception as exc:
        _unavailable(f"RabbitMQ at {AMQP_URL} is not reachable: {exc!r}")


def _check_redis() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        _unavailable(f"Redis at {REDIS_URL} is not reachable: {exc!r}")


def _delete_rabbitmq_queues(broker: dramatiq.Broker) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for name in broker.get_declared_queues():
            for queue in (name, f"{name}.DQ", f"{name}.XQ"):
                channel.queue_delete(queue)
    finally:
        connection.close()


@pytest.fixture
async def rabbitmq(
    database: Provisioned, settings: Settings
) -> AsyncIterator[tuple[dramatiq.Broker, str, qs.Seen]]:
    _check_rabbitmq()
    prefix = _prefix()
    config = BrokerConfig(url=AMQP_URL, queue_prefix=prefix, min_backoff_ms=10, max_backoff_ms=50)
    async with qs.running_worker(database.app_url, config, settings=settings) as (broker, seen):
        yield broker, prefix, seen
    _delete_rabbitmq_queues(broker)


@pytest.fixture
async def redis_broker(
    database: Provisioned, settings: Settings
) -> AsyncIterator[tuple[dramatiq.Broker, str]]:
    _check_redis()
    prefix = _prefix()
    config = BrokerConfig(url=REDIS_URL, queue_prefix=prefix, min_backoff_ms=10, max_backoff_ms=50)
    async with qs.running_worker(database.app_url, config, settings=settings) as (
        broker,
        _seen,
    ):
        yield broker, prefix
        broker.flush_all()  # type: ignore[attr-defined]


async def test_rabbitmq_delivers_a_committed_change_once(
    app_engine: AsyncEngine, rabbitmq: tuple[dramatiq.Broker, str, qs.Seen], tenant: TenantHandle
) -> None:
    broker, prefix, _seen = rabbitmq
    assert all(q.startswith(prefix) for q in broker.get_declared_queues())
    await qs.enqueue_committed(
        app_engine, tenant.id, "queue_test_record_effect", note="via rabbitmq"
    )
    assert await Relay(app_engine, broker, queue_prefix=prefix).drain() == 1

    async def ran() -> bool:
        return await qs.effects(app_engine, tenant.id) == 1

    await qs.eventually(ran)
    (row,) = await qs.outbox(app_engine, tenant.id)
    assert row.status == "sent"


async def test_rabbitmq_resent_after_a_relay_crash_is_exactly_once_in_effect(
    app_engine: AsyncEngine, rabbitmq: tuple[dramatiq.Broker, str, qs.Seen], tenant: TenantHandle
) -> None:
    broker, prefix, seen = rabbitmq

    class DiesBeforeMarking(Relay):
        async def mark_sent(self, session: object, rows: object) -> None:
            raise SystemError("relay killed after sending")

    row = await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect")
    with pytest.raises(SystemError):
        await DiesBeforeMarking(app_engine, broker, queue_prefix=prefix).run_once()
    assert await Relay(app_engine, broker, queue_prefix=prefix).drain() == 1

    async def both_seen() -> bool:
        # Both deliveries reached the worker: one did the work, the other found it done.
        return seen.count(row.id) == 2

    await qs.eventually(both_seen)
    assert await qs.effects(app_engine, tenant.id) == 1


async def test_rabbitmq_dead_letters_a_poisoned_message(
    app_engine: AsyncEngine, rabbitmq: tuple[dramatiq.Broker, str, qs.Seen], tenant: TenantHandle
) -> None:
    broker, prefix, _seen = rabbitmq
    row = await qs.enqueue_committed(app_engine, tenant.id, "queue_test_poisoned", case_id="C-9")
    await Relay(app_engine, broker, queue_prefix=prefix).drain()

    async def dead() -> bool:
        return len(await qs.dead_letters(app_engine, tenant.id)) == 1

    await qs.eventually(dead)
    (letter,) = await qs.dead_letters(app_engine, tenant.id)
    assert (letter.message_id, letter.reason, letter.queue_name) == (
        row.id,
        "retries_exhausted",
        f"{prefix}queue-test",
    )


async def test_redis_delivers_a_committed_change_once(
    app_engine: AsyncEngine, redis_broker: tuple[dramatiq.Broker, str], tenant: TenantHandle
) -> None:
    broker, prefix = redis_broker
    await qs.enqueue_committed(app_engine, tenant.id, "queue_test_record_effect", note="via redis")
    assert await Relay(app_engine, broker, queue_prefix=prefix).drain() == 1

    async def ran() -> bool:
        return await qs.effects(app_engine, tenant.id) == 1

    await qs.eventually(ran)
