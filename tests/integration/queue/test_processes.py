"""`closeloop worker` and `closeloop scheduler` as real processes on RabbitMQ: a committed
job is delivered, and both stop cleanly on Ctrl-C (SIGINT); killed with SIGKILL during a
stream of intakes, with `closeloop serve`, and started again, they lose and double
nothing: every acknowledged case is stored once and gets one e-mail."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import queue_support as qs
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from test_real_brokers import AMQP_URL, _check_rabbitmq

from closeloop.provision import Provisioned
from closeloop.queue import registry
from closeloop.settings import Settings
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


def _delete_queues(prefix: str, names: tuple[str, ...] = ("default",)) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for name in names:
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(f"{prefix}{name}{suffix}")
    finally:
        connection.close()


# ---- SIGKILL during a stream of intakes -------------------------------------------------

INTAKES = 40
CLIENTS = 4
DEADLINE = 180.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailroom:
    """aiosmtpd handler: keeps each message's recipients. While not `open`, a new message
    waits at MAIL FROM, before any of it has been sent (`waiting` counts them)."""

    def __init__(self) -> None:
        self.recipients: list[str] = []
        self.open = threading.Event()
        self.open.set()
        self.waiting = 0

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if not self.open.is_set():
            self.waiting += 1
            try:
                await asyncio.to_thread(self.open.wait)
            finally:
                self.waiting -= 1
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.recipients.extend(envelope.rcpt_tos)
        return "250 OK"


class Processes:
    """`closeloop serve`, `scheduler` and `worker` with their output in files."""

    def __init__(self, env: dict[str, str], folder: Path, port: int) -> None:
        self.env, self.folder, self.port = env, folder, port
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: collections.Counter[str] = collections.Counter()

    def start(self, name: str) -> None:
        self.starts[name] += 1
        log = self.folder / f"{name}-{self.starts[name]}.log"
        args = ["serve", "--port", str(self.port)] if name == "serve" else [name]
        with log.open("wb") as out:
            self.running[name] = subprocess.Popen(
                [str(Path(sys.executable).parent / "closeloop"), *args],
                cwd=self.folder,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self, name: str) -> None:
        process = self.running.pop(name)
        process.kill()  # SIGKILL: no handler runs, nothing is finished or handed back
        process.wait(10)

    def stop_all(self) -> None:
        for process in self.running.values():
            process.send_signal(signal.SIGINT)
        for process in self.running.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )


async def _count(engine: AsyncEngine, tenant_id: uuid.UUID, sql: str) -> int:
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )
        return int((await conn.execute(text(sql))).scalar_one())


async def _until(check: Any, what: str, processes: Processes, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"not reached in {seconds:.0f} s: {what}\n{processes.logs()}")
        await asyncio.sleep(0.1)


async def test_sigkill_of_worker_scheduler_and_server_loses_and_doubles_nothing(
    app_engine: AsyncEngine,
    database: Provisioned,
    settings: Settings,
    tenant: TenantHandle,
    tmp_path: Path,
) -> None:
    _check_rabbitmq()
    registry.load_actor_modules()
    queues = tuple(sorted({spec.queue_name for spec in registry.all_actors()}))
    prefix = f"k{os.getpid()}{uuid.uuid4().hex[:6]}."
    mailroom = Mailroom()
    smtp = Controller(mailroom, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    port = _free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "CLOSELOOP_", "BROKER_", "SMTP_", "LOG_"))
    }
    env |= {
        "DATABASE_URL": database.app_url,
        "BROKER_URL": AMQP_URL,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
        "CLOSELOOP_QUEUE_PREFIX": prefix,
        "CLOSELOOP_SECRET_KEY": settings.secret_key,
        "CLOSELOOP_MASTER_KEY": str(settings.master_key),
        "CLOSELOOP_DB_POOL_SIZE": "4",
        "CLOSELOOP_RETRY_MIN_BACKOFF_MS": "100",
        "CLOSELOOP_RETRY_MAX_BACKOFF_MS": "1000",
        "LOG_FORMAT": "json",
    }
    processes = Processes(env, tmp_path, port)
    base = f"http://127.0.0.1:{port}"
    acknowledged: dict[int, str] = {}
    try:
        for name in ("serve", "scheduler", "worker"):
            processes.start(name)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/health/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(ready, "closeloop serve ready", processes)
            stream = asyncio.create_task(_stream(client, tenant, acknowledged))

            # The worker, killed with mail in hand: every message the server accepted is
            # marked sent, the next ones wait at the server's door (not in the moment
            # between acceptance and marking that no protocol can cover; actors.py).
            await _until(
                lambda: _got(mailroom, 8), "8 e-mails before the worker is killed", processes
            )
            mailroom.open.clear()

            async def in_hand() -> bool:
                sent = await _count(
                    app_engine,
                    tenant.id,
                    "SELECT count(*) FROM notifications WHERE channel = 'email' "
                    "AND status = 'sent'",
                )
                return mailroom.waiting > 0 and sent == len(mailroom.recipients)

            await _until(in_hand, "the worker waiting at the mail server", processes)
            processes.kill("worker")
            mailroom.open.set()
            # The relay, anywhere in its work: what it handed over but did not mark goes
            # again, as a second message with the same id.
            processes.kill("scheduler")
            processes.start("worker")
            processes.start("scheduler")
            # The server, in the middle of requests: clients retry with their keys.
            await _until(
                lambda: _got(mailroom, 16), "16 e-mails before the server is killed", processes
            )
            processes.kill("serve")
            processes.start("serve")
            await asyncio.wait_for(stream, DEADLINE)

            async def all_sent() -> bool:
                sent = await _count(
                    app_engine,
                    tenant.id,
                    "SELECT count(*) FROM notifications WHERE channel = 'email' "
                    "AND status = 'sent'",
                )
                return sent == INTAKES and len(mailroom.recipients) >= INTAKES

            await _until(all_sent, f"{INTAKES} e-mails sent", processes, seconds=DEADLINE)
            await asyncio.sleep(3)  # a late copy would arrive now
    finally:
        processes.stop_all()
        smtp.stop()
        _delete_queues(prefix, queues)

    assert sorted(acknowledged) == list(range(INTAKES))
    cases = await _count(app_engine, tenant.id, "SELECT count(*) FROM cases")
    keys = await _count(app_engine, tenant.id, "SELECT count(DISTINCT idempotency_key) FROM cases")
    assert (cases, keys) == (INTAKES, INTAKES)  # each acknowledged intake stored once
    numbers = await _count(app_engine, tenant.id, "SELECT count(DISTINCT number) FROM cases")
    assert numbers == INTAKES
    per_address = collections.Counter(mailroom.recipients)
    assert per_address == {f"kill{i}@example.com": 1 for i in range(INTAKES)}, processes.logs()
    assert processes.starts == {"serve": 2, "scheduler": 2, "worker": 2}


def _got(mailroom: Mailroom, count: int) -> Any:
    async def check() -> bool:
        return len(mailroom.recipients) >= count

    return check()


async def _stream(
    client: httpx.AsyncClient, tenant: TenantHandle, acknowledged: dict[int, str]
) -> None:
    """INTAKES intakes by CLIENTS clients, each retried with its key until answered 2xx
    (the server may be down for a moment, or die after committing)."""
    numbers = iter(range(INTAKES))

    async def one_client() -> None:
        for i in numbers:
            body = {
                "kind": "complaint",
                "channel": "web",
                "title": f"Kettle {i} leaks",
                "description": "The kettle leaks from the base after two weeks.",
                "customer": {"name": f"Customer {i}", "email": f"kill{i}@example.com"},
            }
            headers = {**tenant.headers, "Idempotency-Key": f"kill-{i}"}
            while True:
                try:
                    response = await client.post("/api/v1/cases", json=body, headers=headers)
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
                    continue
                if response.status_code in (200, 201):
                    acknowledged[i] = response.json()["id"]
                    break
                assert response.status_code >= 500, response.text
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.05)

    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
