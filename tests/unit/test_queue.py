"""The queue's pieces that need no database: settings, declarations, broker wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Retries

from closeloop.queue import closeloop_actor, schedule
from closeloop.queue.brokers import BrokerConfig, DeadLetters, WorkerDatabase, make_broker
from closeloop.queue.registry import UnknownActor, actor_spec
from closeloop.queue.schedule import register
from closeloop.settings import SettingsError, load_settings


@pytest.fixture
def no_dotenv(tmp_path: Path) -> Path:
    return tmp_path / "absent.env"


def test_queue_settings_have_defaults_and_are_read(no_dotenv: Path) -> None:
    defaults = load_settings({}, dotenv=no_dotenv)
    assert (defaults.queue_prefix, defaults.worker_threads) == ("", 4)
    assert (defaults.retry_min_backoff_ms, defaults.retry_max_backoff_ms) == (15_000, 3_600_000)
    custom = load_settings(
        {
            "CLOSELOOP_QUEUE_PREFIX": "staging.",
            "CLOSELOOP_RETRY_MIN_BACKOFF_MS": "100",
            "CLOSELOOP_RETRY_MAX_BACKOFF_MS": "1000",
            "CLOSELOOP_WORKER_THREADS": "8",
        },
        dotenv=no_dotenv,
    )
    assert (custom.queue_prefix, custom.worker_threads) == ("staging.", 8)
    assert (custom.retry_min_backoff_ms, custom.retry_max_backoff_ms) == (100, 1000)
    assert BrokerConfig.from_settings(custom) == BrokerConfig(None, "staging.", 100, 1000)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"CLOSELOOP_QUEUE_PREFIX": "has space"}, "CLOSELOOP_QUEUE_PREFIX"),
        ({"CLOSELOOP_QUEUE_PREFIX": "1starts-with-digit"}, "CLOSELOOP_QUEUE_PREFIX"),
        ({"CLOSELOOP_WORKER_THREADS": "0"}, "CLOSELOOP_WORKER_THREADS"),
        (
            {"CLOSELOOP_RETRY_MIN_BACKOFF_MS": "5000", "CLOSELOOP_RETRY_MAX_BACKOFF_MS": "10"},
            "CLOSELOOP_RETRY_MAX_BACKOFF_MS",
        ),
    ],
)
def test_bad_queue_settings_are_named(environ: dict[str, str], named: str, no_dotenv: Path) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ, dotenv=no_dotenv)


def test_broker_kind_follows_the_url() -> None:
    assert BrokerConfig().kind == "in-process"
    assert BrokerConfig(url="amqp://mq.internal").kind == "rabbitmq"
    assert BrokerConfig(url="amqps://mq.internal").kind == "rabbitmq"
    assert BrokerConfig(url="redis://cache.internal").kind == "redis"


def test_the_in_process_broker_declares_every_actor_on_prefixed_queues() -> None:
    broker = make_broker(BrokerConfig(queue_prefix="unit."))
    assert isinstance(broker, StubBroker)
    actor = broker.get_actor("check_delivery")
    assert actor.queue_name == "unit.default"
    assert {"max_retries", "time_limit"} <= set(actor.options)
    assert all(name.startswith("unit.") for name in broker.get_declared_queues())


def test_dead_letters_sees_a_message_after_retries_decided() -> None:
    broker = make_broker(BrokerConfig())
    kinds = [type(m) for m in broker.middleware]
    # after_* hooks run in reverse order: DeadLetters must come before Retries in the list,
    # and the worker database must be disposed before the AsyncIO loop stops.
    assert kinds.index(DeadLetters) < kinds.index(Retries)
    assert kinds.index(AsyncIO) < kinds.index(WorkerDatabase)
    retries = next(m for m in broker.middleware if isinstance(m, Retries))
    assert (retries.min_backoff, retries.max_backoff) == (15_000, 3_600_000)


def test_an_actor_name_is_taken_once() -> None:
    async def first(*, tenant_id: str, message_id: str) -> None: ...

    async def second(*, tenant_id: str, message_id: str) -> None: ...

    spec = closeloop_actor(actor_name="unit_once", queue_name="q", max_retries=1, time_limit=1000)(
        first
    )
    assert actor_spec("unit_once") is spec
    assert spec.options() == {"max_retries": 1, "time_limit": 1000}
    with pytest.raises(ValueError, match="already taken"):
        closeloop_actor(actor_name="unit_once", queue_name="q", max_retries=1, time_limit=1000)(
            second
        )


def test_an_unknown_actor_is_refused() -> None:
    with pytest.raises(UnknownActor, match="no_such_actor"):
        actor_spec("no_such_actor")


@pytest.fixture
def scratch_schedules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Schedules registered here must not reach a scheduler started by a later test."""
    monkeypatch.setattr(schedule, "_SCHEDULES", {})


@pytest.mark.usefixtures("scratch_schedules")
def test_a_schedule_is_registered_once_and_needs_a_period() -> None:
    register("unit-sweep", 60, "check_delivery")
    register("unit-sweep", 60, "check_delivery")  # the same declaration again is fine
    with pytest.raises(ValueError, match="already registered"):
        register("unit-sweep", 30, "check_delivery")
    with pytest.raises(ValueError, match="at least 1"):
        register("unit-never", 0, "check_delivery")
    assert [s.name for s in schedule.schedules()] == ["unit-sweep"]


def test_the_in_process_broker_does_not_keep_rejected_messages_in_memory() -> None:
    broker = make_broker(BrokerConfig())
    middleware = next(m for m in broker.middleware if isinstance(m, DeadLetters))
    message = object()
    letters = broker.dead_letters_by_queue["default"]  # type: ignore[attr-defined]
    letters.append(message)  # what StubBroker's consumer does on nack

    class Rejected:
        queue_name = "default"

    middleware.after_nack(broker, Rejected())  # another message: left alone
    assert letters == [message]
    rejected = Rejected()
    letters.append(rejected)
    middleware.after_nack(broker, rejected)
    assert letters == [message]
