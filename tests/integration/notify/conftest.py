from __future__ import annotations

import dataclasses

import notify_support as ns
import pytest
from notify_support import _worker_settings, broker, mail

from closeloop.queue import runtime
from closeloop.settings import Settings

__all__ = ["_worker_settings", "broker", "mail"]  # the fixtures, defined with the helpers


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture
def dead_smtp(settings: Settings) -> str:
    """SMTP_URL naming a local port nothing listens on."""
    url = f"smtp://127.0.0.1:{ns.free_port()}"
    runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
    return url
