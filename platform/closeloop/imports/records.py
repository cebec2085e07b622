"""What the mapping makes of a row: an `ImportedCase`, or the row's `CellError`s.

`ImportedCase` carries a case as DESIGN §1 records it, in the case model's own names
(`closeloop.cases.models.Case`; the customer as `CustomerInput`, the product as
`ProductIn`), typed and checked, with codes still as codes: the writer resolves them to
the tenant's rows. `Creation` is a configuration item the mapping says must be created
for the import (a category of a tree built on the fly, a channel).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from typing import Any, Literal

import msgspec

from closeloop.cases.schemas import ProductIn
from closeloop.customers.schemas import CustomerInput

__all__ = [
    "CellError",
    "Creation",
    "CreationKind",
    "ImportedCase",
    "Person",
    "RowErrors",
    "SlaOutcome",
    "error_report_csv",
]


CreationKind = Literal["channel", "category", "department", "demand"]


class Person(msgspec.Struct, frozen=True, omit_defaults=True):
    """A member of staff named in the file, by e-mail (matched first) or by name."""

    email: str | None = None
    name: str | None = None


class SlaOutcome(msgspec.Struct, frozen=True, omit_defaults=True):
    """What the file states of one SLA target (`[sla.<target>]` of the mapping): met or
    not, the target (`due`, as a policy writes it) and when its clock started (None:
    the received time)."""

    met: bool
    due: dict[str, Any]
    started_at: dt.datetime | None = None


class ImportedCase(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One source row as a case. `row` is its row number in the file.

    `received_at` is None when the file has no received time (the writer then uses the
    time of the import, as intake does). Every time is timezone-aware.
    """

    row: int
    kind: str
    channel: str
    title: str
    description: str
    status: str
    received_at: dt.datetime | None = None
    number: str | None = None
    external_id: str | None = None
    category: str | None = None
    severity: str | None = None
    customer: CustomerInput | None = None
    product: ProductIn | None = None
    problem_at: dt.datetime | None = None
    problem_place: str | None = None
    demands: list[str] = []
    # Handling: the lead department (code or name), the handler, the deadline.
    department: str | None = None
    handler: Person | None = None
    registrar: Person | None = None
    deadline: dt.datetime | None = None
    verification_note: str | None = None
    progress_note: str | None = None
    # Resolution (`Case.resolution`): root cause, responsible party, solution, result.
    root_cause: str | None = None
    responsible_party: str | None = None
    third_party: str | None = None
    solution_type: str | None = None
    resolution_result: str | None = None
    resolved_at: dt.datetime | None = None
    # First satisfaction and the follow-up call.
    first_satisfaction: str | None = None
    satisfaction_reason: str | None = None
    followup_outcome: str | None = None
    followup_at: dt.datetime | None = None
    followup_by: Person | None = None
    followup_note: str | None = None
    closed_at: dt.datetime | None = None
    archived_at: dt.datetime | None = None
    extra: dict[str, Any] = {}
    # SLA outcomes the file states, by target (the writer records them as clocks).
    sla: dict[str, SlaOutcome] = {}


class CellError(msgspec.Struct, frozen=True):
    """Why a value could not be taken: its row, its column (None for the row as a whole
    or a constant of the mapping), the field it was for, the value and the reason."""

    row: int
    column: str | None
    field: str | None
    value: str
    reason: str


class RowErrors(msgspec.Struct, frozen=True):
    """A row that did not become a case, with every problem found in it."""

    row: int
    errors: list[CellError]


class Creation(msgspec.Struct, frozen=True):
    """A configuration item to create before the cases are written: of `kind`, with
    `code` and `name` (the text of the file), under `parent` (a category's parent code)."""

    kind: CreationKind
    code: str
    name: str
    parent: str | None = None


REPORT_COLUMNS = ("row", "column", "field", "value", "reason")


def error_report_csv(errors: Iterable[CellError]) -> str:
    """The errors as CSV text (row, column, field, value, reason), as users download it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for error in errors:
        writer.writerow(
            [error.row, error.column or "", error.field or "", error.value, error.reason]
        )
    return out.getvalue()
