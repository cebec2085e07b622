from __future__ import annotations

from collections.abc import Iterator

import pytest
from plugin_support import Recorder

from closeloop.notify import runtime as notify_runtime
from closeloop.plugins.manager import registered_plugins
from closeloop.settings import Settings


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture(autouse=True)
def _worker_settings(settings: Settings) -> Iterator[None]:
    """The plugin jobs read the process's settings, as the notification actors do."""
    notify_runtime.configure(settings)
    try:
        yield
    finally:
        notify_runtime.reset()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """The recording plugin, installed for this test (each tenant still enables it)."""
    plugin = Recorder()
    with registered_plugins(plugin):
        yield plugin
