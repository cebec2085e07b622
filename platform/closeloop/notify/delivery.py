"""Sending one message: e-mail over SMTP (aiosmtplib), webhooks over HTTPS (httpx).

`SMTP_URL` is `smtp://host[:port]` (STARTTLS when the server offers it; port 25 by
default), or `smtps://user:password@host[:port]` (TLS from the start; port 465);
credentials may be given with either. The sender address is the URL's `from` query
parameter (`smtp://mail.example.com:587?from=service@example.com`), by default
`closeloop@<host>`.

A webhook is a POST of a JSON body with

    X-Closeloop-Timestamp: <unix seconds>
    X-Closeloop-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the secret>

A receiver recomputes the HMAC over the raw body and rejects stale timestamps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import httpx

__all__ = [
    "DeliveryFailed",
    "SmtpTarget",
    "WebhookResult",
    "post_webhook",
    "send_email",
    "sign",
    "smtp_target",
]

SMTP_TIMEOUT_SECONDS = 30.0
WEBHOOK_TIMEOUT_SECONDS = 10.0
USER_AGENT = "Closeloop-Webhook/1"


class DeliveryFailed(Exception):
    """This attempt failed; `retry` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclasses.dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None
    sender: str


def smtp_target(url: str) -> SmtpTarget:
    """Where and how to send, from `SMTP_URL`."""
    parts = urlsplit(url)
    use_tls = parts.scheme == "smtps"
    hostname = parts.hostname or "localhost"
    query = parse_qs(parts.query)
    sender = (query.get("from") or [f"closeloop@{hostname}"])[0]
    return SmtpTarget(
        hostname=hostname,
        port=parts.port or (465 if use_tls else 25),
        use_tls=use_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=sender,
    )


async def send_email(
    target: SmtpTarget,
    *,
    to: str,
    subject: str,
    body: str,
    locale: str,
    sender_name: str | None = None,
    message_id: str | None = None,
) -> None:
    """Send one plain-text UTF-8 message; raises `DeliveryFailed`."""
    message = EmailMessage()
    message["From"] = formataddr((sender_name, target.sender)) if sender_name else target.sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain=target.sender.rpartition("@")[2])
    message.set_content(body, charset="utf-8")  # (clears Content-* headers: set them after)
    message["Content-Language"] = locale
    try:
        await aiosmtplib.send(
            message,
            hostname=target.hostname,
            port=target.port,
            username=target.username,
            password=target.password,
            use_tls=target.use_tls,
            timeout=SMTP_TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPResponseException as exc:
        # 5xx is a permanent refusal (bad address, policy); 4xx may pass later.
        raise DeliveryFailed(
            f"SMTP {exc.code}: {exc.message}", retry=not 500 <= exc.code < 600
        ) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}") from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Closeloop-Signature` value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclasses.dataclass(frozen=True)
class WebhookResult:
    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def retry(self) -> bool:
        """Network errors and 5xx (and 429) may pass later; other answers will not."""
        code = self.status_code
        return code is None or code >= 500 or code in (408, 429)


async def post_webhook(url: str, secret: str, body: bytes, *, delivery_id: str) -> WebhookResult:
    """POST `body` signed with `secret`; any 2xx is success."""
    timestamp = str(int(time.time()))
    headers: dict[str, Any] = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Closeloop-Timestamp": timestamp,
        "X-Closeloop-Signature": sign(secret, timestamp, body),
        "X-Closeloop-Delivery": delivery_id,
    }
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(
            timeout=WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False
        ) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return WebhookResult(None, f"{type(exc).__name__}: {exc}"[:2000], elapsed)
    elapsed = int((time.monotonic() - started) * 1000)
    if 200 <= response.status_code < 300:
        return WebhookResult(response.status_code, None, elapsed)
    return WebhookResult(
        response.status_code, f"HTTP {response.status_code}: {response.text[:500]}", elapsed
    )
