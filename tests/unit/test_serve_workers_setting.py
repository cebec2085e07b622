"""`closeloop serve --workers N` / CLOSELOOP_WORKERS: several app processes share a
database server and leave background work to a broker, or the command refuses with one
line (exit status 2) before it touches any database."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from closeloop.settings import SettingsError, load_settings

SECRET = "s" * 40
MASTER_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
# Never reached: the command must refuse before connecting.
APP_URL = "postgresql://closeloop_app@db.internal:5432/closeloop"


@pytest.fixture
def no_dotenv(tmp_path: Path) -> Path:
    return tmp_path / "absent.env"


def test_one_worker_by_default(no_dotenv: Path) -> None:
    assert load_settings({}, dotenv=no_dotenv).workers == 1


def test_workers_are_read(no_dotenv: Path) -> None:
    assert load_settings({"CLOSELOOP_WORKERS": "4"}, dotenv=no_dotenv).workers == 4


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "257"])
def test_a_malformed_worker_count_is_named_on_one_line(value: str, no_dotenv: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"CLOSELOOP_WORKERS": value}, dotenv=no_dotenv)
    message = str(caught.value)
    assert "CLOSELOOP_WORKERS" in message
    assert "\n" not in message


def _serve(
    args: list[str], extra_env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CLOSELOOP_", "BROKER_", "LOG_"))
    }
    env |= {"CLOSELOOP_DATA_DIR": str(cwd / "data"), **extra_env}
    return subprocess.run(
        [str(Path(sys.executable).parent / "closeloop"), "serve", "--port", "1", *args],
        cwd=cwd,  # no .env here
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SERVER_ENV = {
    "DATABASE_URL": APP_URL,
    "CLOSELOOP_SECRET_KEY": SECRET,
    "CLOSELOOP_MASTER_KEY": MASTER_KEY,
}


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [
        pytest.param(["--workers", "2"], {}, id="option"),
        pytest.param([], {"CLOSELOOP_WORKERS": "2"}, id="setting"),
    ],
)
def test_several_workers_without_a_broker_are_refused_with_one_line(
    args: list[str], extra_env: dict[str, str], tmp_path: Path
) -> None:
    result = _serve(args, SERVER_ENV | extra_env, tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "BROKER_URL" in line
    assert "2 workers" in line
    assert "DATABASE_URL" not in line  # it is set; only the broker is missing


def test_several_workers_on_the_embedded_database_are_refused_with_one_line(
    tmp_path: Path,
) -> None:
    result = _serve(["--workers", "3"], {"BROKER_URL": "redis://127.0.0.1:6379/0"}, tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "DATABASE_URL" in line
    assert "embedded" in line
    assert not (tmp_path / "data").exists()  # the embedded PostgreSQL was never started


def test_the_option_wins_over_the_setting(tmp_path: Path) -> None:
    """`--workers 1` serves as today, even with CLOSELOOP_WORKERS=2 and no broker: it gets
    as far as the database (unreachable here) instead of refusing the worker count."""
    closed_port = "postgresql://closeloop_app@127.0.0.1:1/closeloop"
    env = SERVER_ENV | {"DATABASE_URL": closed_port, "CLOSELOOP_WORKERS": "2"}
    result = _serve(["--workers", "1"], env, tmp_path)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "cannot reach the database" in line
