"""The case snapshot: what a case's fields were at one moment, as a plain dict.

`snapshot(case)` takes the lifecycle fields (`LIFECYCLE_FIELDS`): the `before` and
`after` of a `CaseChange`, whose difference is the audit entry of an action.
`snapshot(case, fields)` takes other fields the same way (the case edit diffs the
fields a `PATCH` may change).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from closeloop.cases.models import Case

__all__ = ["LIFECYCLE_FIELDS", "snapshot"]

# The case fields the lifecycle changes; an action's audit entry holds their diff.
LIFECYCLE_FIELDS = (
    "status", "version", "escalation_level", "category_id", "category_code", "severity_id",
    "severity_code", "severity_rank", "handler_id", "handler_history", "lead_department_id",
    "collaborating_department_ids", "deadline", "resume_status", "resolution",
    "first_satisfaction", "followup_outcome", "followup_after", "resolved_at", "closed_at",
    "archived_at", "merged_into_id",
)  # fmt: skip


def snapshot(case: Case, fields: Iterable[str] = LIFECYCLE_FIELDS) -> dict[str, Any]:
    """`case`'s `fields`, by name, as they are now."""
    return {name: getattr(case, name) for name in fields}
