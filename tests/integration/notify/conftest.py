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


@pytest.fixture(autouse=True)
def _notify_settings(settings: Settings) -> Iterator[None]:
    """What the notify code reads outside a request (`closeloop.notify.runtime`): the
    test settings (no SMTP_URL), unless `mail` or `dead_smtp` name a server."""
    notify_runtime.configure(settings)
    try:
        yield
    finally:
        notify_runtime.reset()


@pytest.fixture
async def broker(database: Provisioned) -> AsyncIterator[dramatiq.Broker]:
    """The StubBroker with a worker running every actor (fast retries)."""
    async with ns.running_worker(database.app_url) as running:
        yield running


@pytest.fixture
def mail(settings: Settings) -> Iterator[ns.Mailbox]:
    """A real SMTP server started for the test; the delivery actors send to it."""
    with ns.smtp_server() as (url, mailbox):
        notify_runtime.configure(dataclasses.replace(settings, smtp_url=url))
        yield mailbox


@pytest.fixture
def dead_smtp(settings: Settings) -> str:
    """SMTP_URL naming a local port nothing listens on."""
    url = f"smtp://127.0.0.1:{ns.free_port()}"
    notify_runtime.configure(dataclasses.replace(settings, smtp_url=url))
    return url
