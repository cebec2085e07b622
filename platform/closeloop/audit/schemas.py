"""The audit API's response bodies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

__all__ = ["AuditEntryRead", "AuditPage", "ChainReportRead"]


class AuditEntryRead(msgspec.Struct):
    id: uuid.UUID
    seq: int
    at: dt.datetime
    actor: str
    action: str
    entity_type: str
    entity_id: uuid.UUID | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditPage(msgspec.Struct):
    """One page, newest first; pass `next_cursor` as `cursor` for the next (null: no more)."""

    items: list[AuditEntryRead]
    next_cursor: str | None


class ChainReportRead(msgspec.Struct):
    """`ok` false names the first broken entry by `broken_at_seq` and `entry_id`."""

    ok: bool
    entries: int
    broken_at_seq: int | None
    entry_id: uuid.UUID | None
    reason: str | None
