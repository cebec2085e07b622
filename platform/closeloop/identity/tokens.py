"""Session tokens (short-lived JWT, algorithm pinned) and tenant API keys (`clk_...`)."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import hashlib
import secrets
import threading
import uuid

import jwt

__all__ = [
    "API_KEY_PREFIX",
    "InvalidToken",
    "SessionClaims",
    "decode_session_token",
    "hash_api_key",
    "issue_session_token",
    "new_api_key",
    "tenant_of_api_key",
]

ALGORITHM = "HS256"
AUDIENCE = "closeloop-api"
ISSUER = "closeloop"
API_KEY_PREFIX = "clk_"
_TENANT_HEX = 32


class InvalidToken(Exception):
    """The bearer token is expired, tampered with, or not a Closeloop token."""


@dataclasses.dataclass(frozen=True, slots=True)
class SessionClaims:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: dt.datetime


def issue_session_token(
    *, secret: str, tenant_id: uuid.UUID, user_id: uuid.UUID, ttl_seconds: int
) -> tuple[str, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    expires = now + dt.timedelta(seconds=ttl_seconds)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "tid": str(tenant_id),
        "iat": now,
        "exp": expires,
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


# Tokens whose signature and claims were checked, by (secret, token): checking the
# HMAC again on every request of a session costs more than the rest of authentication.
# Only the expiry is checked again. Least recently used dropped past the size.
_VERIFIED_SIZE = 4096
_verified: collections.OrderedDict[tuple[str, str], SessionClaims] = collections.OrderedDict()
_verified_lock = threading.Lock()


def decode_session_token(token: str, *, secret: str) -> SessionClaims:
    with _verified_lock:
        known = _verified.get((secret, token))
        if known is not None:
            _verified.move_to_end((secret, token))
    if known is not None:
        if known.expires_at <= dt.datetime.now(dt.UTC):
            raise InvalidToken("the session token has expired; log in again")
        return known
    claims = _decode(token, secret=secret)
    with _verified_lock:
        _verified[(secret, token)] = claims
        while len(_verified) > _VERIFIED_SIZE:
            _verified.popitem(last=False)
    return claims


def _decode(token: str, *, secret: str) -> SessionClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "tid", "aud", "iss"]},
        )
        return SessionClaims(
            tenant_id=uuid.UUID(claims["tid"]),
            user_id=uuid.UUID(claims["sub"]),
            expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC),
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the session token has expired; log in again") from None
    except (jwt.InvalidTokenError, ValueError, KeyError):
        raise InvalidToken("the bearer token is not valid") from None


def new_api_key(tenant_id: uuid.UUID) -> tuple[str, str]:
    """A fresh key and its display prefix. The tenant id travels in the key, not a secret."""
    secret = secrets.token_urlsafe(32)
    key = f"{API_KEY_PREFIX}{tenant_id.hex}{secret}"
    return key, f"{API_KEY_PREFIX}{secret[:8]}"


def tenant_of_api_key(key: str) -> uuid.UUID:
    body = key.removeprefix(API_KEY_PREFIX)
    if not key.startswith(API_KEY_PREFIX) or len(body) < _TENANT_HEX + 32:
        raise InvalidToken("the API key is not valid")
    try:
        return uuid.UUID(hex=body[:_TENANT_HEX])
    except ValueError:
        raise InvalidToken("the API key is not valid") from None


def hash_api_key(key: str) -> bytes:
    # Keys carry 256 random bits, so a plain SHA-256 is a safe lookup hash.
    return hashlib.sha256(key.encode()).digest()
