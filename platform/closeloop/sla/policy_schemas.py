"""Request and response bodies of `/api/v1/sla-policies` and `GET /api/v1/cases/{id}/sla`.

A policy names its match (null = any), the calendar to count with (null = the tenant's
default), its targets and its escalation ladder. PATCH bodies leave out what does not
change; `targets` and `levels` given replace the stored ones whole.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from closeloop.bounded import Name
from closeloop.config.schemas import Code
from closeloop.sla.timing import TargetName

__all__ = [
    "CaseSlaRead",
    "ClockEventRead",
    "ClockRead",
    "LevelIn",
    "LevelRead",
    "SlaPolicyCreate",
    "SlaPolicyRead",
    "SlaPolicyUpdate",
    "TargetSpec",
    "Targets",
]

Position = Annotated[int, msgspec.Meta(ge=0, le=1_000_000, description="order of matching")]
ActionName = Literal[
    "notify_handler",
    "notify_supervisors",
    "notify_manager",
    "notify_role",
    "reassign",
    "raise_severity",
    "flag",
]
RoleName = Literal["admin", "supervisor", "agent", "handler", "followup", "viewer"]
CaseKind = Literal["complaint", "service_request", "inquiry", "suggestion"]


class TargetSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """`calendar` and `business` take `hours` (elapsed, or working time of the calendar);
    `working_days` takes `days` (the same working-hour offset N working days on), and for
    the follow-up window `earliest_days`, when the window opens."""

    unit: Literal["calendar", "business", "working_days"]
    hours: Annotated[float, msgspec.Meta(gt=0, le=8784)] | None = None
    days: Annotated[int, msgspec.Meta(ge=1, le=366)] | None = None
    earliest_days: Annotated[int, msgspec.Meta(ge=0, le=366)] | None = None


class Targets(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """The promises of a policy; a target left out is not tracked for its cases."""

    first_response: TargetSpec | None = None
    customer_update: TargetSpec | None = None
    resolution: TargetSpec | None = None
    customer_contact: TargetSpec | None = None
    first_feedback: TargetSpec | None = None
    followup: TargetSpec | None = None
    second_handling: TargetSpec | None = None


class LevelIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One rung: when `target`'s clock reaches `trigger` (`percent` of the target elapsed,
    1-99; `breach`; `after_breach` hours past due; `age` hours since the clock started),
    do `actions` once. `notify_role` needs `role`; `raise_severity` goes to
    `severity_code`, or one rank up when it is null."""

    target: TargetName
    trigger: Literal["percent", "breach", "after_breach", "age"]
    threshold: Annotated[int, msgspec.Meta(ge=0, le=87_840)] = 0
    actions: Annotated[list[ActionName], msgspec.Meta(min_length=1, max_length=7)]
    role: RoleName | None = None
    severity_code: Code | None = None


Levels = Annotated[list[LevelIn], msgspec.Meta(max_length=100)]


class SlaPolicyCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: Code
    name: Name
    position: Position = 0
    active: bool = True
    is_default: bool = False
    match_kind: CaseKind | None = None
    match_severity: Code | None = None
    match_category: Code | None = None
    match_channel: Code | None = None
    calendar_id: uuid.UUID | None = None
    targets: Targets
    levels: Levels = msgspec.field(default_factory=list)


class SlaPolicyUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Changes apply to cases whose clocks start afterwards; running clocks keep the
    targets they started with."""

    name: Name | UnsetType = UNSET
    position: Position | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    is_default: bool | UnsetType = UNSET
    match_kind: CaseKind | UnsetType | None = UNSET
    match_severity: Code | UnsetType | None = UNSET
    match_category: Code | UnsetType | None = UNSET
    match_channel: Code | UnsetType | None = UNSET
    calendar_id: uuid.UUID | UnsetType | None = UNSET
    targets: Targets | UnsetType = UNSET
    levels: Levels | UnsetType = UNSET


class LevelRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    position: int
    target: str
    trigger: str
    threshold: int
    actions: list[str]
    role: str | None
    severity_code: str | None


class SlaPolicyRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    position: int
    active: bool
    is_default: bool
    match_kind: str | None
    match_severity: str | None
    match_category: str | None
    match_channel: str | None
    calendar_id: uuid.UUID | None
    targets: dict[str, TargetSpec]
    levels: list[LevelRead]
    created_at: dt.datetime
    updated_at: dt.datetime


class ClockRead(msgspec.Struct, kw_only=True):
    """One promise on the case. `state` is running, paused, stopped or breached (running
    past its due time); `breached_at` stays set once the promise was missed."""

    id: uuid.UUID
    cycle: int
    target: str
    state: str
    policy_id: uuid.UUID | None
    unit: str
    spec: dict[str, Any]
    period: int
    started_at: dt.datetime
    opens_at: dt.datetime | None
    due_at: dt.datetime
    paused_at: dt.datetime | None
    paused_seconds: int
    stopped_at: dt.datetime | None
    breached_at: dt.datetime | None
    next_check_at: dt.datetime | None
    fired_levels: int


class ClockEventRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    clock_id: uuid.UUID | None
    cycle: int
    target: str | None
    type: str
    at: dt.datetime
    actor: str
    reason: str | None
    data: dict[str, Any]


class CaseSlaRead(msgspec.Struct, kw_only=True):
    """A case's clocks (every cycle) and its SLA history, oldest first."""

    case_id: uuid.UUID
    due_at: dt.datetime | None
    cycle: int
    clocks: list[ClockRead]
    events: list[ClockEventRead]
