"""Request bodies of the lifecycle actions (one msgspec struct per action) and the answer.

`decode_body(action, raw)` turns the JSON object of `POST .../actions/{action}` into the
action's struct; a body that does not fit answers 400 naming the field. Rules that need
more than the shape (an explanation when `valid` is false...) are checked by the
service and answer 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

import msgspec

from closeloop.bounded import AnswerCode, Text
from closeloop.cases.lifecycle import Action
from closeloop.errors import ApiError
from closeloop.times import ZonedTime, dec_hook

__all__ = [
    "ACTION_BODIES",
    "ActionBody",
    "Annotate",
    "Archive",
    "Assign",
    "CaseState",
    "Feedback",
    "Followup",
    "Invalidate",
    "Merge",
    "Progress",
    "Reopen",
    "RequestInfo",
    "Resolve",
    "Resume",
    "ScheduleFollowup",
    "Start",
    "Verify",
    "decode_body",
]

Short = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Visibility = Literal["internal", "customer"]
# A moment in time: with its offset (`2026-12-01T10:00+08:00`), never a bare local time.
Moment = ZonedTime


class ActionBody(msgspec.Struct, forbid_unknown_fields=True):
    """Base of every action body: unknown fields are refused."""


class Verify(ActionBody):
    valid: bool
    category_id: uuid.UUID | None = None
    severity_id: uuid.UUID | None = None
    note: Text | None = None
    explanation: Text | None = None


class Invalidate(ActionBody):
    explanation: Text


class RequestInfo(ActionBody):
    question: Text
    reason: Text | None = None


class Resume(ActionBody):
    note: Text | None = None


class Assign(ActionBody):
    lead_department_id: uuid.UUID
    handler_id: uuid.UUID
    collaborating_department_ids: list[uuid.UUID] = []
    deadline: Moment | None = None
    note: Text | None = None


class Start(ActionBody):
    note: Text | None = None


class Progress(ActionBody):
    note: Text
    visibility: Visibility = "internal"


class Resolve(ActionBody):
    root_cause: Text
    responsible_party: Literal["internal", "customer", "third_party"]
    solution_type: Short
    result: Text
    third_party: Short | None = None


class Feedback(ActionBody):
    satisfaction: AnswerCode
    reason: Text | None = None


class ScheduleFollowup(ActionBody):
    after: Moment | None = None


class Followup(ActionBody):
    outcome: Literal["resolved_satisfied", "partially_resolved", "unresolved"]
    note: Text | None = None
    script_answers: dict[str, Text] | None = None


class Reopen(ActionBody):
    reason: Text


class Archive(ActionBody):
    note: Text | None = None


class Annotate(ActionBody):
    note: Text


class Merge(ActionBody):
    """`into`: the case this one duplicates, by its id or its number."""

    into: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    note: Text | None = None


ACTION_BODIES: dict[Action, type[ActionBody]] = {
    Action.VERIFY: Verify,
    Action.INVALIDATE: Invalidate,
    Action.REQUEST_INFO: RequestInfo,
    Action.RESUME: Resume,
    Action.ASSIGN: Assign,
    Action.START: Start,
    Action.PROGRESS: Progress,
    Action.RESOLVE: Resolve,
    Action.FEEDBACK: Feedback,
    Action.SCHEDULE_FOLLOWUP: ScheduleFollowup,
    Action.FOLLOWUP: Followup,
    Action.REOPEN: Reopen,
    Action.ARCHIVE: Archive,
    Action.ANNOTATE: Annotate,
    Action.MERGE: Merge,
}

_FIELD_PATTERNS = (
    re.compile(r"at `\$\.([A-Za-z_][\w]*)"),
    re.compile(r"(?:missing required|unknown) field `([^`]+)`"),
)


def _field_of(message: str) -> str | None:
    for pattern in _FIELD_PATTERNS:
        found = pattern.search(message)
        if found:
            return found.group(1)
    return None


def decode_body(action: Action, raw: Any) -> ActionBody:
    """`raw` (the decoded JSON body, or None when there was none) as `action`'s struct."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ApiError(
            f"the body of {action} must be a JSON object",
            code="invalid_request",
            details={"fields": [{"field": None, "message": "expected an object"}]},
        )
    try:
        return msgspec.convert(raw, type=ACTION_BODIES[action], dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = _field_of(message)
        where = f"`{field}`" if field else "the request body"
        raise ApiError(
            f"invalid {where} for {action}: {message}",
            code="invalid_request",
            details={"fields": [{"field": field, "message": message}]},
        ) from None


class CaseState(msgspec.Struct):
    """A case as the lifecycle leaves it, with what the caller may do next."""

    id: uuid.UUID
    number: str
    status: str
    version: int
    severity: str | None
    severity_rank: int
    escalation_level: int
    category: str | None
    handler_id: uuid.UUID | None
    handler_history: list[uuid.UUID]
    lead_department_id: uuid.UUID | None
    collaborating_department_ids: list[uuid.UUID]
    deadline: dt.datetime | None
    resume_status: str | None
    resolution: dict[str, Any] | None
    first_satisfaction: str | None
    followup_outcome: str | None
    followup_after: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    archived_at: dt.datetime | None
    allowed_actions: list[str]
    merged_into_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
