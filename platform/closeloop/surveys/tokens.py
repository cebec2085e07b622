"""Survey link tokens: the tenant's id, then 256 random bits, URL-safe.

Like `clk_` API keys, the tenant travels in the token so the public page can bind the
tenant (row-level security) before it looks the survey up; the random part is the
secret. Only `hash_token(token)` is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

__all__ = ["hash_token", "new_token", "tenant_of_token"]

_TENANT_HEX = 32
_SHAPE = re.compile(r"^[0-9a-f]{32}[A-Za-z0-9_-]{43}$")


def new_token(tenant_id: uuid.UUID) -> str:
    return f"{tenant_id.hex}{secrets.token_urlsafe(32)}"


def tenant_of_token(token: str) -> uuid.UUID | None:
    """The tenant a well-formed token names, or None for anything else."""
    if not _SHAPE.match(token):
        return None
    return uuid.UUID(hex=token[:_TENANT_HEX])


def hash_token(token: str) -> bytes:
    # 256 random bits: a plain SHA-256 is a safe lookup hash.
    return hashlib.sha256(token.encode()).digest()
