"""The settings the delivery actors use (SMTP server, master key for decrypting the
customer's address and the webhook secrets).

Actors receive ids only, so they read the process's settings: `get_settings()` in
`closeloop worker` and the in-process worker; a test (or an embedding program) that
built its own `Settings` calls `configure(settings)` first.
"""

from __future__ import annotations

from closeloop.settings import Settings, get_settings

__all__ = ["configure", "configured", "reset", "settings"]

_configured: Settings | None = None


def configure(value: Settings) -> None:
    global _configured
    _configured = value


def configured() -> bool:
    return _configured is not None


def reset() -> None:
    global _configured
    _configured = None


def settings() -> Settings:
    return _configured if _configured is not None else get_settings()
