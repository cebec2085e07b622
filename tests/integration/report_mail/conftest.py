from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import dramatiq
import pytest

from closeloop.provision import Provisioned
from closeloop.queue import runtime
from closeloop.settings import Settings
from integration.notify import notify_support as ns


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The suite's settings with a data folder (the e-mails' files are stored there)."""
    return dataclasses.replace(settings, data_dir=tmp_path / "data")


@pytest.fixture(autouse=True)
def _worker_settings(database: Provisioned, settings: Settings) -> Iterator[None]:
    runtime.configure(database.app_url, settings=settings)
    try:
        yield
    finally:
        runtime.reset()


@pytest.fixture
async def broker(database: Provisioned) -> AsyncIterator[dramatiq.Broker]:
    """The StubBroker with a worker running every actor."""
    async with ns.running_worker(database.app_url, settings=runtime.current().settings) as running:
        yield running


@pytest.fixture
def mail(settings: Settings) -> Iterator[ns.Mailbox]:
    """A real SMTP server started for the test (aiosmtpd); the delivery actor sends to it."""
    with ns.smtp_server() as (url, mailbox):
        runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
        yield mailbox
