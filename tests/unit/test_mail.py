"""`closeloop.mail.Mailer`, the one SMTP sender, against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from closeloop.mail import NOT_CONFIGURED, DeliveryFailed, Mailer


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Server:
    """Accepts every message, or answers RCPT with `refuse` ("550 ...")."""

    def __init__(self, refuse: str | None = None) -> None:
        self.refuse = refuse
        self.received: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@contextlib.contextmanager
def _smtp(refuse: str | None = None) -> Iterator[tuple[str, _Server]]:
    handler = _Server(refuse)
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?from=service@acme.example.com", handler
    finally:
        controller.stop()


async def _send(mailer: Mailer, key: str = "job-1") -> None:
    await mailer.send(
        key=key,
        to="sam@example.net",
        subject="您的投诉已受理",
        body="我们已收到您的反馈，编号 C-0001。",
        locale="zh-CN",
        sender_name="Acme 客服",
    )


async def test_a_message_arrives_as_utf8_text_with_its_key_as_message_id() -> None:
    with _smtp() as (url, server):
        await _send(Mailer(url))
    ((recipients, message),) = server.received
    assert recipients == ["sam@example.net"]
    assert message["From"] == "Acme 客服 <service@acme.example.com>"
    assert message["Subject"] == "您的投诉已受理"
    assert message["Message-ID"] == "<job-1@closeloop>"
    assert message["Content-Language"] == "zh-CN"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == "我们已收到您的反馈，编号 C-0001。"


@pytest.mark.parametrize(
    ("answer", "retry"), [("550 no such mailbox", False), ("451 try again later", True)]
)
async def test_a_refusal_says_whether_another_attempt_may_pass(answer: str, retry: bool) -> None:
    with _smtp(refuse=answer) as (url, server), pytest.raises(DeliveryFailed) as failed:
        await _send(Mailer(url))
    assert str(failed.value).startswith(f"SMTP {answer[:3]}")
    assert failed.value.retry is retry
    assert server.received == []


async def test_an_unreachable_server_is_worth_another_attempt() -> None:
    with pytest.raises(DeliveryFailed) as failed:
        await _send(Mailer(f"smtp://127.0.0.1:{_free_port()}"))
    assert str(failed.value).startswith("SMTP ")
    assert failed.value.retry is True


async def test_without_a_server_nothing_is_sent_and_the_reason_is_given() -> None:
    mailer = Mailer(None)
    assert mailer.target is None
    with pytest.raises(DeliveryFailed, match=r"SMTP_URL is unset") as failed:
        await _send(mailer)
    assert (str(failed.value), failed.value.retry) == (NOT_CONFIGURED, False)
