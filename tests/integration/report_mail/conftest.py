from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from closeloop.settings import Settings

# The delivering worker, its settings and the SMTP server, as the notify tests have them.
from integration.notify.notify_support import _worker_settings, broker, mail

__all__ = ["_worker_settings", "broker", "mail"]


@pytest.fixture(autouse=True)
async def _start_empty(clean_tables: None) -> None:
    """Every test here starts from empty tables."""


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The suite's settings with a data folder (the e-mails' files are stored there)."""
    return dataclasses.replace(settings, data_dir=tmp_path / "data")
