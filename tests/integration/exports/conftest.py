import dataclasses
from pathlib import Path

import pytest

from closeloop.settings import Settings


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The suite's settings with a data folder of this test's own."""
    return dataclasses.replace(settings, data_dir=tmp_path / "data")
