"""What the core hands to plugins and what plugins hand back (msgspec Structs).

Inputs (`CaseSnapshot`, `CaseEventSnapshot`, `TenantInfo`) are frozen copies: a
plugin cannot change a case by mutating them. Results may be returned as these
Structs or as plain dicts / lists of dicts of the same shape; the core converts
them with `msgspec.convert` and an unknown key, a missing required key or a value
of the wrong type makes the call a failed finding (`forbid_unknown_fields`).

Dates and times in results may be given as ISO 8601 text; money (`amount`) as a
number or decimal text. Codes (category, severity) are the tenant's codes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any, Literal

import msgspec

__all__ = [
    "CaseEventSnapshot",
    "CaseSnapshot",
    "Classification",
    "Correlation",
    "Entitlement",
    "FieldIssue",
    "FieldSpec",
    "PluginAction",
    "ResolutionOption",
    "SeverityAssessment",
    "SeverityLevel",
    "Suggestion",
    "TenantInfo",
]

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "enum"]
IssueLevel = Literal["error", "warning"]
EntitlementKind = Literal["warranty", "return", "exchange", "refund"]
CostBearer = Literal["company", "customer", "third_party", "shared"]
ActionType = Literal["notify_email", "flag"]


# --- inputs ---------------------------------------------------------------------------


class SeverityLevel(msgspec.Struct, frozen=True, kw_only=True):
    """One of the tenant's severity levels; a higher `rank` is more severe."""

    code: str
    rank: int
    name: str = ""


class TenantInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The tenant a hook is called for. `severities` are the active levels, lowest first
    (a plugin maps its own scale, e.g. P4..P1, onto them by position)."""

    id: uuid.UUID
    slug: str
    locale: str = "zh-CN"
    timezone: str = "Asia/Shanghai"
    severities: list[SeverityLevel] = msgspec.field(default_factory=list)


class CaseSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A case as plugins see it: no personal data (`customer_ref` is the customer's
    external reference, never a name, phone or e-mail).

    `number` is None in the intake hooks (`validate_intake`, `classify_case`,
    `assess_severity`, `check_entitlement`, `suggest_resolution`, `correlate_case`):
    they run before the case is numbered and stored, so that a raised severity counts
    from the start (SLA clocks, acknowledgement) and no number is taken for a refused
    intake. `id` is always set (the id the case will have); `on_case_event` gets both.
    `product` holds `name`, `model`, `batch`, `order_number`, `purchase_date` (ISO
    date text), `warranty_card`, ... as entered.
    `extra` holds the fields plugins declared with `extra_fields`, by field name.
    `received_at` and `problem_at` carry a time zone.
    """

    id: uuid.UUID
    number: str | None
    kind: str
    status: str
    channel: str
    received_at: dt.datetime
    title: str
    description: str
    category_code: str | None = None
    severity_code: str | None = None
    severity_rank: int = 0
    product: dict[str, Any] = msgspec.field(default_factory=dict)
    demands: list[str] = msgspec.field(default_factory=list)
    extra: dict[str, Any] = msgspec.field(default_factory=dict)
    problem_at: dt.datetime | None = None
    problem_place: str | None = None
    customer_ref: str | None = None
    is_repeat: bool = False
    escalation_level: int = 0
    resolution: dict[str, Any] | None = None


class CaseEventSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a case's timeline: `type` is `registered` after intake, else the
    lifecycle action's name (`verify`, `invalidate`, `request_info`, `resume`,
    `assign`, `start`, `progress`, `resolve`, `feedback`, `schedule_followup`,
    `followup`, `reopen`, `archive`, `annotate`, `merge`); `from_status` / `to_status` the case's
    status before and after (`to_status` is `resolved` after `resolve`); `data` the
    event's data as on the timeline; `case` the case after the step."""

    case: CaseSnapshot
    type: str
    from_status: str | None = None
    to_status: str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    at: dt.datetime


# --- results --------------------------------------------------------------------------


class FieldSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An additional case field a plugin needs, validated by intake as `extra[name]`.

    `choices` is required for `type="enum"`. `date` / `datetime` values are ISO 8601
    text in `extra`.
    """

    name: str
    type: FieldType
    required: bool = False
    choices: list[str] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"field name {self.name!r} must be letters, digits and _")
        if self.type == "enum" and not self.choices:
            raise ValueError(f"enum field {self.name!r} needs choices")


class FieldIssue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A problem with an intake: `field` names it (`product.purchase_date`,
    `extra.fault_cause`, `description`); an `error` refuses the intake (422), a
    `warning` is attached to the case as a finding."""

    field: str
    message: str
    level: IssueLevel = "error"


class Suggestion(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A suggested code with why and how sure (0.0 to 1.0)."""

    code: str
    reason: str = ""
    confidence: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is not between 0 and 1")


class Classification(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Suggested category and severity; suggestions only, the core changes nothing."""

    category: Suggestion | None = None
    severity: Suggestion | None = None


class SeverityAssessment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The severity a plugin judges right (a tenant severity code) and why."""

    severity: str
    reasons: list[str] = msgspec.field(default_factory=list)


class Entitlement(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Whether the customer is entitled to warranty service, a return, an exchange or a
    refund, and the rule that decided it (e.g. `return.no_reason.7d`)."""

    kind: EntitlementKind
    eligible: bool
    rule: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class ResolutionOption(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One way to resolve the case and who bears its cost."""

    solution_type: str
    description: str
    cost_bearer: CostBearer
    amount: decimal.Decimal | None = None
    currency: str | None = None
    responsible_party: str | None = None


class Correlation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Cases of the tenant with the same `key` within `window_minutes` belong together
    (one batch, one outage); at `threshold` cases the core raises an alert."""

    key: str
    label: str
    window_minutes: int
    threshold: int

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("correlation key is empty")
        if self.window_minutes < 1 or self.threshold < 1:
            raise ValueError("window_minutes and threshold must be at least 1")


class PluginAction(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A side effect `on_case_event` asks for, run by a worker:

    - `PluginAction(type="notify_email", to=..., subject=..., body=...)`: an e-mail
      through the notifications service;
    - `PluginAction(type="flag", label=...)`: a `plugin_flag` event on the timeline.
    """

    type: ActionType
    to: str | None = None
    subject: str | None = None
    body: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.type == "notify_email" and not (self.to and self.subject):
            raise ValueError("notify_email needs to and subject")
        if self.type == "flag" and not self.label:
            raise ValueError("flag needs a label")
