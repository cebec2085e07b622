"""The customer API's bodies: what intake accepts about a customer, and what a reader sees."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from closeloop.bounded import Short
from closeloop.cases.heading import CaseHeading

__all__ = [
    "CustomerExport",
    "CustomerInput",
    "CustomerRead",
    "ExportedCase",
    "ExportedEvent",
    "ExportedFollowup",
    "ExportedSurvey",
]

Ref = Annotated[str, msgspec.Meta(max_length=128)]
Locale = Annotated[str, msgspec.Meta(max_length=16)]


class CustomerInput(msgspec.Struct, forbid_unknown_fields=True):
    """A customer as given at intake. `name`, `phone`, `email` and `id_number` are PII."""

    external_ref: Ref | None = None
    nickname: Short | None = None
    name: Short | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    id_number: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    locale: Locale | None = None


class CustomerRead(msgspec.Struct):
    """A customer; PII fields are masked unless the caller holds the `pii` permission."""

    id: uuid.UUID
    external_ref: str | None
    nickname: str | None
    name: str | None
    phone: str | None
    email: str | None
    id_number: str | None
    erased: bool
    locale: str | None = None
    masked: bool = True


class ExportedEvent(msgspec.Struct):
    """A timeline entry meant for the customer (as on their status page)."""

    type: str
    at: dt.datetime
    status: str | None
    message: str | None


class ExportedSurvey(msgspec.Struct):
    cycle: int
    sent_at: dt.datetime
    answered_at: dt.datetime | None
    answer: str | None
    reason: str | None


class ExportedFollowup(msgspec.Struct):
    due_from: dt.datetime
    due_by: dt.datetime
    status: str
    outcome: str | None
    done_at: dt.datetime | None


class ExportedCase(CaseHeading):
    description: str
    category: str | None
    severity: str | None
    product: dict[str, Any]
    problem_at: dt.datetime | None
    problem_place: str | None
    demands: list[str]
    resolution: dict[str, Any] | None
    first_satisfaction: str | None
    followup_outcome: str | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    timeline: list[ExportedEvent]
    surveys: list[ExportedSurvey]
    followups: list[ExportedFollowup]


class CustomerExport(msgspec.Struct):
    """One customer's data for an access request: the record (PII masked unless the
    caller holds `pii`), their cases with the timeline entries meant for them, their
    satisfaction answers and follow-up records."""

    customer: CustomerRead
    exported_at: dt.datetime
    cases: list[ExportedCase]
