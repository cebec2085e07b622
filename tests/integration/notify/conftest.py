from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import dramatiq
import notify_support as ns
import pytest

from closeloop.notify import runtime as notify_runtime
from closeloop.provision import Provisioned
from closeloop.settings import Settings


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture
async def broker(database: Provisioned, settings: Settings) -> AsyncIterator[dramatiq.Broker]:
    """The StubBroker with a worker running every actor (fast retries), using the test
    settings (unless `mail` or `dead_smtp` gave others)."""
    if not notify_runtime.configured():
        notify_runtime.configure(settings)
    try:
        async with ns.running_worker(database.app_url) as running:
            yield running
    finally:
        notify_runtime.reset()


@pytest.fixture
def mail(settings: Settings) -> Iterator[ns.Mailbox]:
    """A real SMTP server started for the test; the delivery actors send to it."""
    with ns.smtp_server() as (url, mailbox):
        notify_runtime.configure(dataclasses.replace(settings, smtp_url=url))
        try:
            yield mailbox
        finally:
            notify_runtime.reset()


@pytest.fixture
def dead_smtp(settings: Settings) -> Iterator[str]:
    """SMTP_URL naming a local port nothing listens on."""
    url = f"smtp://127.0.0.1:{ns.free_port()}"
    notify_runtime.configure(dataclasses.replace(settings, smtp_url=url))
    try:
        yield url
    finally:
        notify_runtime.reset()
