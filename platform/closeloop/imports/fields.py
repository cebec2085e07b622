"""The fields a mapping can fill: every case field of DESIGN §1, with its type and limits.

The names are those of `ImportedCase` (and so of the case model); customer and product
fields are flat here (`customer_name`, `product_model`) and nested in the record.
`customer_contact` is a convenience for forms with one "contact" column (联系方式): a
value with `@` is an e-mail, anything else a phone number.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from closeloop.cases.lifecycle import Status
from closeloop.config.models import CASE_KINDS

__all__ = [
    "EXTRA_TYPES",
    "FIELDS",
    "FIXED_CODES",
    "REQUIRED",
    "FieldDef",
    "FieldType",
    "Vocabulary",
]

FieldType = Literal["text", "contact", "datetime", "date", "code", "codes", "person", "bool"]
# The tenant-defined lists a code field is checked against (`Known`).
Vocabulary = Literal["channel", "category", "severity", "department", "demand", "satisfaction"]
# Types an `[extra.<key>]` value may be parsed as.
EXTRA_TYPES = ("text", "bool", "int", "number", "date", "datetime")

FIXED_CODES: dict[str, tuple[str, ...]] = {
    "kind": CASE_KINDS,
    "status": tuple(status.value for status in Status),
    "followup_outcome": ("resolved_satisfied", "partially_resolved", "unresolved"),
    "responsible_party": ("internal", "customer", "third_party"),
}


@dataclasses.dataclass(frozen=True, slots=True)
class FieldDef:
    """`vocabulary`: the tenant list a code is checked against; `fixed`: the field's only
    allowed codes; `creatable`: whether `on_unknown = "create"` may add to the list."""

    type: FieldType
    max_length: int | None = None
    vocabulary: Vocabulary | None = None
    fixed: tuple[str, ...] | None = None
    creatable: bool = False


def _text(limit: int) -> FieldDef:
    return FieldDef("text", max_length=limit)


def _fixed(name: str) -> FieldDef:
    return FieldDef("code", fixed=FIXED_CODES[name])


NOTE = 50_000
SHORT = 200

FIELDS: dict[str, FieldDef] = {
    # Intake
    "number": _text(64),
    "external_id": _text(SHORT),
    "kind": _fixed("kind"),
    "channel": FieldDef("code", vocabulary="channel", creatable=True),
    "received_at": FieldDef("datetime"),
    "title": _text(500),
    "description": _text(50_000),
    "category": FieldDef("code", vocabulary="category", creatable=True),
    "severity": FieldDef("code", vocabulary="severity"),
    "customer_ref": _text(128),
    "customer_nickname": _text(SHORT),
    "customer_name": _text(SHORT),
    "customer_phone": _text(40),
    "customer_email": _text(254),
    "customer_id_number": _text(64),
    "customer_contact": FieldDef("contact", max_length=254),
    "product_name": _text(SHORT),
    "product_model": _text(SHORT),
    "product_batch": _text(SHORT),
    "product_order_number": _text(SHORT),
    "product_purchase_date": FieldDef("date"),
    "product_warranty_card": _text(SHORT),
    "problem_at": FieldDef("datetime"),
    "problem_place": _text(500),
    "demands": FieldDef("codes", vocabulary="demand", creatable=True),
    "registrar": FieldDef("person", max_length=254),
    # Verification, plan and handling
    "verification_note": _text(NOTE),
    "department": FieldDef("code", vocabulary="department", creatable=True),
    "handler": FieldDef("person", max_length=254),
    "deadline": FieldDef("datetime"),
    "progress_note": _text(NOTE),
    "status": _fixed("status"),
    # Resolution
    "root_cause": _text(4000),
    "responsible_party": _fixed("responsible_party"),
    "third_party": _text(SHORT),
    "solution_type": _text(SHORT),
    "resolution_result": _text(NOTE),
    "resolved_at": FieldDef("datetime"),
    # Satisfaction and follow-up
    "first_satisfaction": FieldDef("code", vocabulary="satisfaction"),
    "satisfaction_reason": _text(4000),
    "followup_outcome": _fixed("followup_outcome"),
    "followup_at": FieldDef("datetime"),
    "followup_by": FieldDef("person", max_length=254),
    "followup_note": _text(NOTE),
    "closed_at": FieldDef("datetime"),
    "archived_at": FieldDef("datetime"),
}

# A mapping must fill these (a column, a template or a constant). `kind` defaults to
# complaint and `title` to the start of the description when they are not mapped.
REQUIRED = ("channel", "description")
