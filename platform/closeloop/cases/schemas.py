"""The case API's bodies: intake, edit, one case, a page of cases, attachments, public pages."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

from closeloop.bounded import Short
from closeloop.cases.heading import CaseHeading
from closeloop.customers.schemas import CustomerInput, CustomerRead
from closeloop.times import ClientTime

__all__ = [
    "CUSTOMER_MESSAGE_KEYS",
    "AttachmentRead",
    "CaseCreate",
    "CasePage",
    "CaseRead",
    "CaseSummary",
    "CaseUpdate",
    "Kind",
    "ProductIn",
    "PublicCaseCreate",
    "PublicCaseCreated",
    "PublicCaseStatus",
    "PublicEvent",
    "customer_message",
]

Kind = Literal["complaint", "service_request", "inquiry", "suggestion"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Description = Annotated[str, msgspec.Meta(min_length=1, max_length=50_000)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Place = Annotated[str, msgspec.Meta(max_length=500)]
Demands = Annotated[list[Code], msgspec.Meta(max_length=20)]


class ProductIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The product or service concerned; every field is optional."""

    name: Short | None = None
    model: Short | None = None
    batch: Short | None = None
    order_number: Short | None = None
    purchase_date: dt.date | None = None
    warranty_card: Short | None = None


class CaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Intake (DESIGN §1 step 1). `received_at` defaults to now; a time without a zone is
    the tenant's local time. `channel` and `demands` are codes of the tenant's channels
    and demand types; `severity_id` defaults to the tenant's lowest severity."""

    kind: Kind
    channel: Code
    title: Title
    description: Description
    received_at: ClientTime | None = None
    customer: CustomerInput | None = None
    product: ProductIn | None = None
    problem_at: ClientTime | None = None
    problem_place: Place | None = None
    demands: Demands = []
    category_id: uuid.UUID | None = None
    severity_id: uuid.UUID | None = None
    extra: dict[str, Any] = {}


class CaseUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """`PATCH`: only the fields sent change. `product` changes the sub-fields sent;
    `demands` and `extra` are replaced whole; `null` clears `category_id`, `problem_at`
    and `problem_place`."""

    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    category_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    severity_id: uuid.UUID | msgspec.UnsetType = msgspec.UNSET
    product: ProductIn | msgspec.UnsetType = msgspec.UNSET
    problem_at: ClientTime | msgspec.UnsetType | None = msgspec.UNSET
    problem_place: Place | msgspec.UnsetType | None = msgspec.UNSET
    demands: Demands | msgspec.UnsetType = msgspec.UNSET
    extra: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class CaseRead(CaseHeading):
    """One case. `customer` is masked unless the caller holds the `pii` permission.
    `due` is when the promised reply is due (null until SLA policies set it)."""

    description: str
    customer: CustomerRead | None
    product: dict[str, Any]
    problem_at: dt.datetime | None
    problem_place: str | None
    demands: list[str]
    category_id: uuid.UUID | None
    category: str | None
    severity_id: uuid.UUID | None
    severity: str | None
    severity_rank: int
    escalation_level: int
    due: dt.datetime | None
    is_repeat: bool
    repeat_of: list[uuid.UUID]
    extra: dict[str, Any]
    registrar_id: uuid.UUID | None
    registrar_api_key_id: uuid.UUID | None
    lead_department_id: uuid.UUID | None
    collaborating_department_ids: list[uuid.UUID]
    handler_id: uuid.UUID | None
    deadline: dt.datetime | None
    resolution: dict[str, Any] | None
    first_satisfaction: str | None
    followup_outcome: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    archived_at: dt.datetime | None
    # The case this one duplicates, once merged into it (status `merged`).
    merged_into_id: uuid.UUID | None = None
    # What the caller may do next (docs/cases-lifecycle.md).
    allowed_actions: list[str] = []


class CaseSummary(CaseHeading):
    """A case in a list: what a queue shows, customer masked as for `CaseRead`."""

    customer: CustomerRead | None
    category_id: uuid.UUID | None
    category: str | None
    severity: str | None
    severity_rank: int
    escalation_level: int
    lead_department_id: uuid.UUID | None
    handler_id: uuid.UUID | None
    due: dt.datetime | None
    is_repeat: bool
    version: int


class CasePage(msgspec.Struct, omit_defaults=True):
    """A page of cases, newest received first; pass `next_cursor` as `cursor` for more.
    With `?count=true`, `total` (the cases the filters match, exact up to a cap) and
    `total_capped` (true when more match than the cap); without it, neither is sent."""

    items: list[CaseSummary]
    next_cursor: str | None
    total: int | None = None
    total_capped: bool | None = None


class AttachmentRead(msgspec.Struct):
    id: uuid.UUID
    case_id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: dt.datetime


class PublicCaseCreate(msgspec.Struct, forbid_unknown_fields=True):
    """The customer web form. Contact details are kept encrypted; `nickname` is how the
    customer wants to be addressed."""

    title: Title
    description: Description
    kind: Kind = "complaint"
    nickname: Short | None = None
    name: Short | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    product: ProductIn | None = None
    problem_at: ClientTime | None = None
    problem_place: Place | None = None
    demands: Demands = []


class PublicCaseCreated(msgspec.Struct):
    """Keep `token`: with the number it opens the status page; it is not shown again."""

    number: str
    token: str
    status: str
    status_url: str


# What a customer-visible event may show of its data: the first of these it has.
CUSTOMER_MESSAGE_KEYS = ("message", "note", "explanation", "question", "result")


def customer_message(data: dict[str, Any] | None) -> str | None:
    """The text a customer-visible event shows the customer (status page, data export)."""
    for key in CUSTOMER_MESSAGE_KEYS:
        value = (data or {}).get(key)
        if isinstance(value, str) and value:
            return value
    return None


class PublicEvent(msgspec.Struct):
    type: str
    at: dt.datetime
    status: str | None
    message: str | None


class PublicCaseStatus(msgspec.Struct):
    number: str
    kind: str
    status: str
    title: str
    received_at: dt.datetime
    severity: str | None
    timeline: list[PublicEvent]
