"""The audit hash: the canonical JSON split around `seq` is exactly the whole of it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any

import pytest

from closeloop.audit._chain import canonical_around_seq, entry_hash
from closeloop.audit.models import AuditEntry


def _original_hash(prev_hash: bytes, entry: AuditEntry) -> bytes:
    """The hash as every stored row has it (the definition rows were written with)."""
    body = {
        "tenant_id": str(entry.tenant_id),
        "id": str(entry.id),
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": str(entry.entity_id) if entry.entity_id else None,
        "before": entry.before,
        "after": entry.after,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev_hash + canonical.encode()).digest()


@pytest.mark.parametrize(
    ("seq", "before", "after", "entity_id"),
    [
        (1, None, {"number": "CT-2026-00001", "seq": 0, "tenant_id": "x"}, uuid.uuid4()),
        (10**12, {"名称": "电水壶", "nested": [1, {"seq": 2}]}, None, None),
        (42, {}, {"quote": '"},"seq":9,', "emoji": "🙂"}, uuid.uuid4()),
    ],
)
def test_the_split_around_seq_makes_the_original_hash(
    seq: int, before: dict[str, Any] | None, after: dict[str, Any] | None, entity_id: Any
) -> None:
    entry = AuditEntry(
        tenant_id=uuid.uuid4(),
        id=uuid.uuid4(),
        seq=seq,
        at=dt.datetime(2026, 12, 4, 14, 5, 6, 789, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        actor="user:1",
        action="case.create",
        entity_type="case",
        entity_id=entity_id,
        before=before,
        after=after,
    )
    head, tail = canonical_around_seq(entry)
    prev = hashlib.sha256(b"previous").digest()
    assert entry_hash(prev, entry) == _original_hash(prev, entry)
    assert json.loads(head + str(seq) + tail)["seq"] == seq
