from __future__ import annotations

from collections.abc import Iterator

import pytest
from plugin_support import Recorder

from closeloop.plugins.manager import registered_plugins
from closeloop.provision import Provisioned
from closeloop.queue import runtime
from closeloop.settings import Settings


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture(autouse=True)
def _worker_settings(database: Provisioned, settings: Settings) -> Iterator[None]:
    """The worker's setup, where the plugin jobs read their settings
    (`current_message().settings`), as the notification actors do."""
    runtime.configure(database.app_url, settings=settings)
    try:
        yield
    finally:
        runtime.reset()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """The recording plugin, installed for this test (each tenant still enables it)."""
    plugin = Recorder()
    with registered_plugins(plugin):
        yield plugin
