"""Dates on an intake that cannot both be right: warnings for the handler, never a refusal.

Built in and on for every tenant until its admins switch it off
(`PUT /api/v1/plugins/intake_checks {"enabled": false}`).
"""

from __future__ import annotations

import datetime as dt

from closeloop.plugins.markers import hookimpl
from closeloop.plugins.types import CaseSnapshot, FieldIssue

NAME = "intake_checks"
VERSION = "1.0.0"
DESCRIPTION = (
    "Warns when the purchase date lies after the case was received or after the problem happened."
)
ENABLED_BY_DEFAULT = True


def _purchase_date(case: CaseSnapshot) -> dt.date | None:
    raw = case.product.get("purchase_date")
    if not isinstance(raw, str):
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return None


@hookimpl
def validate_intake(case: CaseSnapshot) -> list[FieldIssue]:
    purchased = _purchase_date(case)
    if purchased is None:
        return []
    issues = []
    if purchased > case.received_at.date():
        issues.append(
            FieldIssue(
                field="product.purchase_date",
                message=f"purchase date {purchased} lies after the case was received",
                level="warning",
            )
        )
    elif case.problem_at is not None and purchased > case.problem_at.date():
        issues.append(
            FieldIssue(
                field="product.purchase_date",
                message=f"purchase date {purchased} lies after the problem happened",
                level="warning",
            )
        )
    return issues
