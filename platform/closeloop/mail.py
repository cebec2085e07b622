"""The one SMTP sender: notifications (`closeloop.notify`) and plugin e-mail
(`closeloop.plugins`) both go out through `Mailer`.

`SMTP_URL` is `smtp://host[:port]` (STARTTLS when the server offers it; port 25 by
default), or `smtps://user:password@host[:port]` (TLS from the start; port 465);
credentials may be given with either. The sender address is the URL's `from` query
parameter (`smtp://mail.example.com:587?from=service@example.com`), by default
`closeloop@<host>`; the display name is the tenant's.

A message is UTF-8 text with `Content-Language`, optionally with an HTML alternative
whose inline images (`MailPart` with a `cid`) it shows as `cid:` links, and attachments
(multipart/alternative inside multipart/related inside multipart/mixed, as mail
clients expect). Its `Message-ID` is made from
the caller's key (`<key@closeloop>`): the job that sends it passes its own id, so a
message sent again by a redelivered job carries the same id and a mail client shows it
once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

__all__ = [
    "NOT_CONFIGURED",
    "DeliveryFailed",
    "MailPart",
    "Mailer",
    "SmtpTarget",
    "smtp_target",
]

SMTP_TIMEOUT_SECONDS = 30.0
NOT_CONFIGURED = "no mail server is configured (SMTP_URL is unset)"
"""Why a message was skipped when no mail server is configured (stored, shown in the API)."""


class DeliveryFailed(Exception):
    """This attempt failed; `retry` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


@dataclasses.dataclass(frozen=True)
class MailPart:
    """An image shown in the HTML body (`cid` set: `<img src="cid:...">`) or an
    attachment (no `cid`)."""

    filename: str
    content_type: str
    data: bytes
    cid: str | None = None


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


class Mailer:
    """Sends e-mail through the server of `SMTP_URL` (`smtp_url`); with none configured,
    `target` is None and callers record the message as skipped (`NOT_CONFIGURED`)."""

    def __init__(self, smtp_url: str | None) -> None:
        self.target = smtp_target(smtp_url) if smtp_url else None

    async def send(
        self,
        *,
        key: str,
        to: str,
        subject: str,
        body: str,
        locale: str,
        sender_name: str | None = None,
        html: str | None = None,
        parts: Sequence[MailPart] = (),
    ) -> None:
        """Send one message (`key` makes its Message-ID); raises `DeliveryFailed`, with
        `retry` False for a permanent refusal (SMTP 5xx, the recipient's at RCPT included) or
        no server configured. `html` is an alternative to the text `body`; `parts` are its
        inline images (with a `cid`) and the attachments."""
        target = self.target
        if target is None:
            raise DeliveryFailed(NOT_CONFIGURED, retry=False)
        message = EmailMessage()
        message["From"] = formataddr((sender_name, target.sender)) if sender_name else target.sender
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = f"<{key}@closeloop>"
        message.set_content(body, charset="utf-8")  # (clears Content-* headers: set them after)
        _add_parts(message, html, parts)
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
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # The one recipient refused, at RCPT: its answer, as for any other command.
            raise _refused(exc.recipients[0]) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _refused(exc) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}") from None


def _add_parts(message: EmailMessage, html: str | None, parts: Sequence[MailPart]) -> None:
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8")
        html_part = next(part for part in message.walk() if part.get_content_type() == "text/html")
        assert isinstance(html_part, EmailMessage)
        for part in parts:
            if part.cid is not None:
                maintype, subtype = part.content_type.split("/", 1)
                html_part.add_related(
                    part.data,
                    maintype=maintype,
                    subtype=subtype,
                    cid=f"<{part.cid}>",
                    filename=part.filename,
                    disposition="inline",
                )
    for part in parts:
        if part.cid is None or html is None:
            maintype, subtype = part.content_type.split("/", 1)
            message.add_attachment(
                part.data, maintype=maintype, subtype=subtype, filename=part.filename
            )


def _refused(exc: aiosmtplib.SMTPResponseException) -> DeliveryFailed:
    # 5xx is a permanent refusal (bad address, policy); 4xx may pass later.
    return DeliveryFailed(f"SMTP {exc.code}: {exc.message}", retry=not 500 <= exc.code < 600)
