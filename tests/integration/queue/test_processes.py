"""`closeloop worker` and `closeloop scheduler` as real processes on RabbitMQ: a committed
job is delivered, and both stop cleanly on Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import queue_support as qs
from sqlalchemy.ext.asyncio import AsyncEngine
from test_real_brokers import AMQP_URL, _check_rabbitmq

from closeloop.provision import Provisioned
from support import TenantHandle

pytestmark = pytest.mark.slow

MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmctLS0"


def _start(command: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "closeloop"), command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_worker_and_scheduler_deliver_and_stop_on_ctrl_c(
    app_engine: AsyncEngine, database: Provisioned, tenant: TenantHandle, tmp_path: Path
) -> None:
    _check_rabbitmq()
    prefix = f"p{os.getpid()}{uuid.uuid4().hex[:6]}."
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CLOSELOOP_"))}
    env |= {
        "DATABASE_URL": database.app_url,
        "BROKER_URL": AMQP_URL,
        "CLOSELOOP_QUEUE_PREFIX": prefix,
        "CLOSELOOP_SECRET_KEY": "s" * 40,
        "CLOSELOOP_MASTER_KEY": MASTER_KEY,
        "LOG_FORMAT": "json",
    }
    processes = [_start("worker", env, tmp_path), _start("scheduler", env, tmp_path)]
    try:
        # A built-in actor: the worker process does not import the tests' actors.
        message = await qs.enqueue_committed(app_engine, tenant.id, "check_delivery")

        async def delivered() -> bool:
            # The scheduler's own periodic sweeps are processed too: look for this message.
            return message.id in await qs.processed_ids(app_engine, tenant.id)

        await qs.eventually(delivered, seconds=60)
    finally:
        for process in processes:
            process.send_signal(signal.SIGINT)
        outputs = [process.communicate(timeout=60) for process in processes]
        _delete_queues(prefix)
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr, stderr


def _delete_queues(prefix: str) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for name in ("default",):
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(f"{prefix}{name}{suffix}")
    finally:
        connection.close()
