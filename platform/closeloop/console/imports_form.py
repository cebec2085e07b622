"""The import page's forms read into what the import services take: how to read the
file (encoding, delimiter, sheet) and the mapping form's edits, field by field; and
what the form calls each case field (`field_labels`: its name in the page's language,
the mapping name beside it)."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from closeloop.console.case_labels import CLOCK_TARGETS
from closeloop.console.i18n import N_, gettext
from closeloop.errors import UnprocessableEntity
from closeloop.imports.editing import KEEP, VALUE, FieldEdit, FieldView
from closeloop.imports.fields import FIELDS
from closeloop.imports.uploads import ReadOptions

__all__ = [
    "DELIMITERS",
    "ENCODINGS",
    "FIELD_LABELS",
    "clock_labels",
    "delimiter_name",
    "field_labels",
    "read_edits",
    "read_options",
    "read_sla_keys",
    "shown_first",
]

# The delimiters and encodings the preview offers by name (others are detected).
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
ENCODINGS = ("utf-8", "utf-8-sig", "gb18030", "big5", "utf-16", "latin-1", "cp1252", "shift_jis")


# Every case field a mapping can fill (`closeloop.imports.fields.FIELDS`), as people
# call it; the form shows the mapping name (`received_at`) beside it, as mapping files
# spell it.
FIELD_LABELS = {
    "number": N_("Case number"),
    "external_id": N_("Id in the source system"),
    "kind": N_("Kind"),
    "channel": N_("Channel"),
    "received_at": N_("Received at"),
    "title": N_("Title"),
    "description": N_("Description"),
    "category": N_("Category"),
    "severity": N_("Severity"),
    "customer_ref": N_("Customer's id"),
    "customer_nickname": N_("Customer's nickname"),
    "customer_name": N_("Customer's name"),
    "customer_phone": N_("Customer's phone"),
    "customer_email": N_("Customer's e-mail"),
    "customer_id_number": N_("Customer's ID card number"),
    "customer_contact": N_("Customer's phone or e-mail"),
    "product_name": N_("Product"),
    "product_model": N_("Model"),
    "product_batch": N_("Batch"),
    "product_order_number": N_("Order number"),
    "product_purchase_date": N_("Purchase date"),
    "product_warranty_card": N_("Warranty card"),
    "problem_at": N_("When it happened"),
    "problem_place": N_("Where it happened"),
    "demands": N_("Demands"),
    "registrar": N_("Registered by"),
    "verification_note": N_("Verification"),
    "department": N_("Department"),
    "handler": N_("Handler"),
    "deadline": N_("Deadline"),
    "progress_note": N_("Handling log"),
    "status": N_("Status"),
    "root_cause": N_("Root cause"),
    "responsible_party": N_("Responsible party"),
    "third_party": N_("Third party"),
    "solution_type": N_("Solution"),
    "resolution_result": N_("Result"),
    "resolved_at": N_("Resolved at"),
    "first_satisfaction": N_("First satisfaction"),
    "satisfaction_reason": N_("Customer's remarks"),
    "followup_outcome": N_("Follow-up outcome"),
    "followup_at": N_("Follow-up date"),
    "followup_by": N_("Followed up by"),
    "followup_note": N_("Follow-up notes"),
    "closed_at": N_("Closed at"),
    "archived_at": N_("Archived on"),
}


def field_labels(locale: str) -> dict[str, str]:
    """Each case field's label in `locale` (a field without one shows its name)."""
    return {name: gettext(locale, FIELD_LABELS.get(name, name)) for name in FIELDS}


def clock_labels(locale: str) -> dict[str, str]:
    """Each SLA target's label in `locale` (the `[sla]` entries of the form)."""
    return {name: gettext(locale, label) for name, label in CLOCK_TARGETS.items()}


def delimiter_name(delimiter: str | None) -> str:
    return next((name for name, char in DELIMITERS.items() if char == delimiter), "")


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def read_options(values: Mapping[str, Any]) -> ReadOptions:
    """`encoding`, `delimiter` (a name of `DELIMITERS`) and `sheet`; empty is detected.
    An unknown encoding or delimiter is a 422 naming it."""
    encoding = _text(values, "encoding") or None
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UnprocessableEntity(f"unknown encoding {encoding!r}", field="encoding") from None
    delimiter = _text(values, "delimiter")
    if delimiter and delimiter not in DELIMITERS:
        shown = ", ".join(DELIMITERS)
        raise UnprocessableEntity(
            f"unknown delimiter {delimiter!r}; one of {shown}", field="delimiter"
        )
    return {
        "encoding": encoding,
        "delimiter": DELIMITERS.get(delimiter),
        "sheet": _text(values, "sheet") or None,
    }


def read_edits(
    values: Mapping[str, Any], header: list[str]
) -> tuple[dict[str, FieldEdit], list[str], list[str] | None]:
    """Each field's edit (`f.<field>` source, `v.` fixed value, `m.` value map, `u.`
    unknown-value policy, `d.` default), the columns ticked for `extra` (`x.<column>`)
    and the mapping's `extra` entries kept (`e.<key>`; None when the form had none). A
    source that is not one of the file's columns is a 422."""
    edits: dict[str, FieldEdit] = {}
    columns = set(header)
    for name in FIELDS:
        key = f"f.{name}"
        if key not in values:
            continue
        source = _text(values, key)
        if source not in ("", KEEP, VALUE) and source not in columns:
            raise UnprocessableEntity(f"{name}: the file has no column {source!r}", field=key)
        map_text = values.get(f"m.{name}")
        edits[name] = FieldEdit(
            source=source,
            value=_text(values, f"v.{name}"),
            map_text=map_text if isinstance(map_text, str) else None,
            on_unknown=_text(values, f"u.{name}"),
            default=_text(values, f"d.{name}"),
        )
    extra = [column for column in header if column and values.get(f"x.{column}") == "on"]
    kept = None
    if "extra_form" in values:
        kept = [key[2:] for key in values if key.startswith("e.") and values[key] == "on"]
    return edits, extra, kept


def read_sla_keys(values: Mapping[str, Any]) -> list[str] | None:
    """The mapping's `[sla]` targets the form keeps (`s.<target>` ticked); None when the
    form had no such section."""
    if "extra_form" not in values:
        return None
    return [key[2:] for key in values if key.startswith("s.") and values[key] == "on"]


def shown_first(views: list[FieldView]) -> tuple[list[FieldView], list[FieldView]]:
    """The fields the mapping fills (and the required ones), then the others."""
    used = [v for v in views if v.source or v.required]
    return used, [v for v in views if not (v.source or v.required)]
