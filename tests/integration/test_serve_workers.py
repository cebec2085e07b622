"""`closeloop serve --workers 2`, the real command in a subprocess on the test database as
the application role: two app processes serve one port, and SIGTERM stops them all.

The web processes never talk to the broker (the outbox is relayed by `closeloop
scheduler`), so BROKER_URL only has to be a valid setting: no Redis is needed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from closeloop.provision import Provisioned

pytestmark = pytest.mark.slow

MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmctLS0"
REDIS_URL = os.environ.get("CLOSELOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _workers(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """uvicorn's worker processes: the spawned children of the command."""
    children = psutil.Process(process.pid).children()
    return [child for child in children if "spawn_main" in " ".join(child.cmdline())]


def _wait_for_two_workers(process: subprocess.Popen[bytes], url: str, stderr: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last: object = None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            last = httpx.get(f"{url}/health/ready", timeout=5)
            # Each worker logs "closeloop ready" once its app has started.
            started = stderr.read_text(encoding="utf-8").count("closeloop ready")
            if last.status_code == 200 and started == 2 and len(_workers(process)) == 2:
                return
        except (httpx.HTTPError, psutil.Error) as exc:
            last = exc
        time.sleep(0.2)
    pytest.fail(
        f"closeloop serve --workers 2 was not ready with two workers: {last!r} "
        f"(exit code {process.poll()})\n{stderr.read_text()[-4000:]}"
    )


def test_serve_with_two_workers_answers_and_stops_on_sigterm(
    database: Provisioned, tmp_path: Path
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CLOSELOOP_", "BROKER_", "LOG_"))
    }
    env |= {
        "DATABASE_URL": database.app_url,
        "BROKER_URL": REDIS_URL,
        "CLOSELOOP_QUEUE_PREFIX": f"w{os.getpid()}{uuid.uuid4().hex[:6]}.",
        "CLOSELOOP_SECRET_KEY": "s" * 40,
        "CLOSELOOP_MASTER_KEY": MASTER_KEY,
        "CLOSELOOP_DB_POOL_SIZE": "2",
        "LOG_FORMAT": "json",
    }
    port = _free_port()
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "closeloop"),
                "serve",
                "--workers",
                "2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=tmp_path,  # no .env is picked up from the repository
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    workers: list[psutil.Process] = []
    try:
        _wait_for_two_workers(process, f"http://127.0.0.1:{port}", stderr)
        workers = _workers(process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(STOP_TIMEOUT) == 0, stderr.read_text()[-4000:]
        _, alive = psutil.wait_procs(workers, timeout=STOP_TIMEOUT)
        assert not alive, "a worker process outlived the command"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for worker in workers:
            if worker.is_running():
                worker.kill()
    assert "Traceback" not in stderr.read_text()
