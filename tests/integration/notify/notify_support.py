"""Servers the notification tests start: an SMTP server (aiosmtpd), a webhook receiver
(a plain HTTP server on a thread), and a Dramatiq worker on the StubBroker."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import http.server
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from typing import Any

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.notify.models import Notification
from closeloop.provision import Provisioned
from closeloop.queue import runtime
from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker
from closeloop.queue.relay import Relay
from closeloop.settings import Settings

FAST = BrokerConfig(min_backoff_ms=10, max_backoff_ms=50)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """aiosmtpd handler: keeps every message it accepts (after `delay` seconds, as a
    slow mail server does)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(delay: float = 0.0) -> Iterator[tuple[str, Mailbox]]:
    """A real SMTP server on a free local port; yields its `smtp://` URL and mailbox."""
    mailbox = Mailbox(delay)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?from=service@acme.example.com", mailbox
    finally:
        controller.stop()


@dataclasses.dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Answers POSTs with the next status of `answers` (then 200) and keeps each request."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = list(answers)
        self.requests: list[Received] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(Received(dict(self.headers.items()), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/closeloop"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.asynccontextmanager
async def running_worker(
    app_url: str, *, settings: Settings, threads: int = 2
) -> AsyncIterator[dramatiq.Broker]:
    """The StubBroker with every actor declared, and a worker consuming it; its actors
    use `settings` (a test changes them with `runtime.current().settings = ...`)."""
    runtime.configure(app_url, settings=settings, pool_size=threads)
    broker = make_broker(FAST)
    worker = await asyncio.to_thread(start_worker, broker, threads=threads, timeout_ms=100)
    try:
        yield broker
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        broker.close()
        runtime.reset()


async def relay(engine: AsyncEngine, broker: dramatiq.Broker) -> int:
    """Hand every committed outbox row to the broker."""
    return await Relay(engine, broker).drain()


async def notifications(engine: AsyncEngine, tenant_id: uuid.UUID) -> list[Notification]:
    async with transaction(sessionmaker(engine), tenant_id) as session:
        query = select(Notification).order_by(Notification.created_at, Notification.id)
        return list((await session.scalars(query)).all())


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


# Fixtures of the tests that deliver (here and in report_mail); a conftest imports them.


@pytest.fixture(autouse=True)
def _worker_settings(database: Provisioned, settings: Settings) -> Iterator[None]:
    """The worker's setup, where the delivery actors read their settings
    (`current_message().settings`): the test settings (no SMTP_URL), unless `mail` or
    `dead_smtp` name a server."""
    runtime.configure(database.app_url, settings=settings)
    try:
        yield
    finally:
        runtime.reset()


@pytest.fixture
async def broker(database: Provisioned) -> AsyncIterator[dramatiq.Broker]:
    """The StubBroker with a worker running every actor (fast retries)."""
    async with running_worker(database.app_url, settings=runtime.current().settings) as running:
        yield running


@pytest.fixture
def mail(settings: Settings) -> Iterator[Mailbox]:
    """A real SMTP server started for the test (aiosmtpd); the delivery actors send to it."""
    with smtp_server() as (url, mailbox):
        runtime.current().settings = dataclasses.replace(settings, smtp_url=url)
        yield mailbox
