"""Sending one webhook over HTTPS (httpx). E-mail goes through `closeloop.mail`, the one
SMTP sender (used by plugin e-mail too).

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
from typing import Any

import httpx

__all__ = ["WebhookResult", "post_webhook", "sign"]

WEBHOOK_TIMEOUT_SECONDS = 10.0
USER_AGENT = "Closeloop-Webhook/1"


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
