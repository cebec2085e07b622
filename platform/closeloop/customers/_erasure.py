"""Erasing a customer's personal data from the text of their cases.

The customer record's own fields are cleared by `CustomerService.erase`; agents also
type names and numbers into case titles, descriptions, product details and timeline
notes. Those exact values (the phone in any separator style, the e-mail in any case)
are replaced by `[erased]`, and each case's search document is rebuilt without them
and without the old nickname. The cases otherwise stay as they were, for statistics.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.search import search_vector
from closeloop.pii.cipher import normalize_phone

__all__ = ["REDACTED", "redact_cases", "redactor"]

REDACTED = "[erased]"
_MIN_NAME = 2  # a one-character "name" would blank out ordinary words


def redactor(values: dict[str, str | None]) -> Callable[[str], str] | None:
    """A function replacing the customer's known PII in a text, or None if none is known."""
    patterns: list[str] = []
    phone = values.get("phone")
    if phone and len(digits := normalize_phone(phone)) >= 5:
        # The digits in order, with any spaces, dashes, dots or brackets between them,
        # optionally after a +86 / 0086 prefix, and not inside a longer number.
        spaced = r"[\s\-.()]*".join(re.escape(d) for d in digits)
        patterns.append(rf"(?<!\d)(?:(?:\+|00)?86[\s\-.()]*)?{spaced}(?!\d)")
    for field in ("email", "id_number"):
        value = values.get(field)
        if value and value.strip():
            patterns.append(re.escape(value.strip()))
    name = values.get("name")
    if name and len(name.strip()) >= _MIN_NAME:
        patterns.append(re.escape(name.strip()))
    if not patterns:
        return None
    compiled = re.compile("|".join(patterns), re.IGNORECASE)
    return lambda text: compiled.sub(REDACTED, text)


def _redact_json(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_json(v, redact) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, redact) for k, v in value.items()}
    return value


async def redact_cases(
    session: AsyncSession, customer_id: uuid.UUID, redact: Callable[[str], str] | None
) -> int:
    """Redact the customer's cases and rebuild their search documents; the number of
    cases whose text changed."""
    cases = (await session.scalars(select(Case).where(Case.customer_id == customer_id))).all()
    changed = 0
    for case in cases:
        if redact is not None:
            before = (case.title, case.description, case.product, case.extra, case.problem_place)
            case.title = redact(case.title)
            case.description = redact(case.description)
            case.product = _redact_json(case.product, redact)
            case.extra = _redact_json(case.extra, redact)
            if case.problem_place is not None:
                case.problem_place = redact(case.problem_place)
            after = (case.title, case.description, case.product, case.extra, case.problem_place)
            if before != after:
                case.version += 1  # an edit made against the old text must not restore it
                changed += 1
        case.search = search_vector(case.number, case.title, case.description, None)
    if redact is not None and cases:
        events = await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id.in_([c.id for c in cases]))
        )
        for event in events:
            redacted = _redact_json(event.data, redact)
            if redacted != event.data:
                event.data = redacted
    await session.flush()
    return changed
