"""Each configuration module imports first in a fresh interpreter, as `closeloop tenants`
does: tenancy seeds the defaults and the defaults seed a calendar, so an import cycle
through tenancy or sla would break the command before it starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PLATFORM = Path(__file__).resolve().parents[2] / "platform"
MODULES = [
    "closeloop.config.files",
    "closeloop.config.defaults",
    "closeloop.config.service",
    "closeloop.config.controllers",
    "closeloop.cli",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_first(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env={"PYTHONPATH": str(PLATFORM)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
