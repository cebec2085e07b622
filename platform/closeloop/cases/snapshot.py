"""The case snapshot: what a case's fields were at one moment, as a plain dict.

One function, `snapshot(case, view)`, and the views the code uses, declared here
side by side so that what each reader gets of a case is read in one place:

* `LIFECYCLE_FIELDS`: the fields the lifecycle changes; the `before` and `after` of a
  `CaseChange`, whose difference is an action's audit entry;
* `INTAKE_AUDIT`: what the audit entry `case.create` keeps of a new case (its text
  stays in the case);
* `WEBHOOK_CASE`: the case in a webhook body (no personal data, no free text but
  the title);
* `PLUGIN_CASE`: the fields of the plugins' `CaseSnapshot` that come from the case
  itself (`customer_ref` is looked up by the plugins' code).

A view is a sequence of attribute names, or a mapping of key → attribute where the
key differs (`"severity": "severity_code"`). Lists and dicts are copied, so a
snapshot does not change with the case.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from closeloop.cases.models import Case

__all__ = ["INTAKE_AUDIT", "LIFECYCLE_FIELDS", "PLUGIN_CASE", "WEBHOOK_CASE", "View", "snapshot"]

View = Sequence[str] | Mapping[str, str]

LIFECYCLE_FIELDS = (
    "status", "version", "escalation_level", "category_id", "category_code", "severity_id",
    "severity_code", "severity_rank", "handler_id", "handler_history", "lead_department_id",
    "collaborating_department_ids", "deadline", "resume_status", "resolution",
    "first_satisfaction", "followup_outcome", "followup_after", "resolved_at", "closed_at",
    "archived_at", "merged_into_id",
)  # fmt: skip

INTAKE_AUDIT: Mapping[str, str] = {
    "number": "number",
    "kind": "kind",
    "status": "status",
    "channel": "channel",
    "received_at": "received_at",
    "category": "category_code",
    "severity": "severity_code",
    "customer_id": "customer_id",
    "demands": "demands",
    "is_repeat": "is_repeat",
    "repeat_of": "repeat_of",
    "idempotency_key": "idempotency_key",
}

WEBHOOK_CASE: Mapping[str, str] = {
    "id": "id",
    "number": "number",
    "title": "title",
    "status": "status",
    "severity": "severity_code",
    "kind": "kind",
    "channel": "channel",
    "due_at": "due_at",
}

PLUGIN_CASE = (
    "id", "number", "kind", "status", "channel", "received_at", "title", "description",
    "category_code", "severity_code", "severity_rank", "product", "demands", "extra",
    "problem_at", "problem_place", "is_repeat", "escalation_level", "resolution",
)  # fmt: skip


def snapshot(case: Case, view: View = LIFECYCLE_FIELDS) -> dict[str, Any]:
    """`case`'s fields in `view`, by key, as they are now."""
    pairs = view.items() if isinstance(view, Mapping) else ((name, name) for name in view)
    return {key: _copied(getattr(case, name)) for key, name in pairs}


def _copied(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
