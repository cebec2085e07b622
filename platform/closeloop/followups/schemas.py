"""Bodies of the follow-up queue (`/api/v1/followups`)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

__all__ = ["FollowupAssign", "FollowupCase", "FollowupPage", "FollowupRead", "ScriptLine"]


class ScriptLine(msgspec.Struct):
    """One step of the tenant's follow-up script, in the queue's language."""

    step: str
    text: str


class FollowupCase(msgspec.Struct):
    """What the caller needs to know of the case before calling (no personal data: open
    the case for the customer's contact details)."""

    id: uuid.UUID
    number: str
    kind: str
    title: str
    status: str
    channel: str
    severity: str | None
    category: str | None
    escalation_level: int
    received_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: dict[str, Any] | None
    first_satisfaction: str | None
    customer_nickname: str | None


class FollowupRead(msgspec.Struct):
    """A follow-up: due between `due_from` and `due_by`; `overdue` once `due_by` passed
    while it is open; `script` in `locale`."""

    id: uuid.UUID
    status: str
    case_id: uuid.UUID
    assignee_id: uuid.UUID | None
    assignee_name: str | None
    resolved_at: dt.datetime
    due_from: dt.datetime
    due_by: dt.datetime
    overdue: bool
    outcome: str | None
    done_at: dt.datetime | None
    done_by: str | None
    created_at: dt.datetime
    locale: str
    case: FollowupCase
    script: list[ScriptLine]


class FollowupPage(msgspec.Struct):
    items: list[FollowupRead]
    next_cursor: str | None


class FollowupAssign(msgspec.Struct, forbid_unknown_fields=True):
    """Give an open follow-up to an active user with the followup role who never
    handled the case."""

    assignee_id: uuid.UUID
