"""The case page's forms as the API's bodies.

A form posts text fields; these functions turn them into the JSON object the API would
receive (`POST /api/v1/cases/{id}/actions/{action}`, `PATCH /api/v1/cases/{id}`), so
the page goes through the same decoding and the same services. Empty fields are left
out (the API's "not given"); a `datetime-local` value is the tenant's local time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import msgspec
from litestar.datastructures import FormMultiDict

from closeloop.cases.schemas import CaseUpdate
from closeloop.errors import ApiError
from closeloop.times import dec_hook

__all__ = [
    "EDIT_FIELDS",
    "PRODUCT_FIELDS",
    "SCRIPT_PREFIX",
    "action_body",
    "case_update",
    "posted_values",
]

# Fields of a form that are not the action's.
_FORM_ONLY = {"_csrf_token", "version"}
_BOOLEANS = {"valid"}
_LISTS = {"collaborating_department_ids"}
_MOMENTS = {"deadline", "after"}
SCRIPT_PREFIX = "answer."
EDIT_FIELDS = ("title", "description", "category_id", "severity_id", "problem_place")
PRODUCT_FIELDS = ("name", "model", "batch", "order_number", "warranty_card")


def _moment(value: str, timezone: str) -> str:
    """A `datetime-local` value (`2026-12-05T10:00`) as a moment with its offset."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return value  # the API's decoding names the field
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    return moment.isoformat()


def action_body(form: FormMultiDict, timezone: str) -> dict[str, Any]:
    """The posted action form as the action's JSON body."""
    body: dict[str, Any] = {}
    answers: dict[str, str] = {}
    for key in form:
        if key in _FORM_ONLY:
            continue
        if key in _LISTS:
            values = [v.strip() for v in form.getall(key) if v.strip()]
            if values:
                body[key] = values
            continue
        value = str(form.get(key) or "").strip()
        if not value:
            continue
        if key.startswith(SCRIPT_PREFIX):
            answers[key.removeprefix(SCRIPT_PREFIX)] = value
        elif key in _BOOLEANS:
            body[key] = value == "true"
        elif key in _MOMENTS:
            body[key] = _moment(value, timezone)
        else:
            body[key] = value
    if answers:
        body["script_answers"] = answers
    return body


def case_update(form: FormMultiDict) -> CaseUpdate:
    """The posted details form as the API's `PATCH` body: every field of the form is
    sent (an emptied category or place clears it); 400 naming the field that does not fit."""
    raw: dict[str, Any] = {}
    for key in EDIT_FIELDS:
        if key not in form:
            continue
        value = str(form.get(key) or "").strip()
        raw[key] = value or None
    if raw.get("severity_id") is None:
        raw.pop("severity_id", None)  # a severity cannot be removed, only changed
    product = {
        key: str(form.get(f"product.{key}") or "").strip() or None
        for key in PRODUCT_FIELDS
        if f"product.{key}" in form
    }
    if product:
        raw["product"] = product
    try:
        return msgspec.convert(raw, CaseUpdate, dec_hook=dec_hook)
    except msgspec.ValidationError as exc:
        raise ApiError(f"invalid details: {exc}", code="invalid_request") from None


def posted_values(form: FormMultiDict) -> dict[str, str]:
    """A refused form's fields as posted (not its CSRF token), to show it again filled."""
    return {key: str(form.get(key) or "") for key in form if key != "_csrf_token"}
