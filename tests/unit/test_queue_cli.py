"""`closeloop worker` and `closeloop scheduler` need a broker and a database server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SECRET = "s" * 40
MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmctLS0"


@pytest.mark.parametrize("command", ["worker", "scheduler"])
def test_without_a_broker_the_command_explains_the_in_process_default(
    command: str, tmp_path: Path
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CLOSELOOP_", "BROKER_"))
    }
    env |= {
        "DATABASE_URL": "postgresql://closeloop_app@db.internal:5432/closeloop",
        "CLOSELOOP_SECRET_KEY": SECRET,
        "CLOSELOOP_MASTER_KEY": MASTER_KEY,
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "closeloop"), command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "BROKER_URL" in line
    assert "in-process" in line
