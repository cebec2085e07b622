from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import dramatiq
import notify_support as ns
import pytest

from closeloop.provision import Provisioned
from closeloop.queue import runtime
from closeloop.settings import Settings


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture(autouse=True)
def _worker_settings(database: Provisioned, settings: Settings) -> Iterator[None]:
    """The worker's setup, where the delivery actors read their settings
    (`current_message().settings`): the test settings (no SMTP_URL), unless `mail` or
    `dead_smtp` name a server."""
    runtime.configure(database.app_url, settings=settings)
    try:
        yield
    finally:
        runtime.reset()


@pytest.fixture
async def broker(database: Provisioned) -> AsyncIterator[dramatiq.Broker]:
    """The StubBroker with a worker running every actor (fast retries)."""
    async with ns.running_worker(database.app_url, settings=runtime.current().settings) as running:
        yield running


@pytest.fixture
def mail(settings: Settings) -> Iterator[ns.Mailbox]:
    """A real SMTP server started for the test; the delivery actors send to it."""
    with ns.smtp_server() as (url, mailbox):
        runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
        yield mailbox


@pytest.fixture
def dead_smtp(settings: Settings) -> str:
    """SMTP_URL naming a local port nothing listens on."""
    url = f"smtp://127.0.0.1:{ns.free_port()}"
    runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
    return url
