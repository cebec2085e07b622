"""`Idempotency-Key` on intake: what a key was first used for.

A case made with a key keeps a fingerprint of the caller and the body
(`Case.idempotency_fingerprint`); a later request with the key replays the case only
when its fingerprint is the same, and is refused otherwise (422
`idempotency_key_reused`), as payment APIs do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import msgspec

from closeloop.cases.models import Case
from closeloop.cases.schemas import CaseCreate
from closeloop.errors import UnprocessableEntity

__all__ = ["check_same_request", "idempotency_fingerprint"]


def idempotency_fingerprint(data: CaseCreate, caller: str) -> bytes:
    """SHA-256 of the caller and the intake body as decoded: keys sorted, times as UTC,
    so a retry that writes the same request differently (`17:30+08:00`, `09:30:00Z`;
    another key order) is the same request."""
    body = _canonical(msgspec.to_builtins(data, builtin_types=(dt.datetime,)))
    text = msgspec.json.encode({"caller": caller, "body": body}, order="sorted")
    return hashlib.sha256(text).digest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def check_same_request(case: Case, fingerprint: bytes) -> None:
    # Cases made before fingerprints were kept have none: they replay as they always did.
    if case.idempotency_fingerprint is not None and case.idempotency_fingerprint != fingerprint:
        raise UnprocessableEntity(
            "this Idempotency-Key was already used for another request (another body, or "
            f"another user or API key); it answers case {case.number} only to the same "
            "request from the same caller. Use a new key for a new case",
            code="idempotency_key_reused",
            field="Idempotency-Key",
        )
