"""Applying a mapping to a file's rows: each row becomes an `ImportedCase` or a `RowErrors`.

    with open_table(path, **mapping.read_options()) as table:
        mapper = Mapper(mapping, table.header, known=known, time_zone=tenant_zone)
        for result in mapper.map_rows(table.rows()):
            ...  # ImportedCase or RowErrors
        mapper.creations  # what the mapping says must be created first

A broken row never stops the others, and every row gives exactly one result: nothing is
dropped silently (blank rows are counted by the table). All the problems of a row are
reported together, each with its row, column, value and reason.

When the mapping does not fill them: `kind` is complaint; `title` is the start of the
description; `status` is inferred from what the row holds (`infer_status`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, get_args

from closeloop.cases.schemas import ProductIn
from closeloop.customers.schemas import CustomerInput
from closeloop.imports._entry import Bad, Entry
from closeloop.imports._outcomes import OutcomeBad, OutcomeReader
from closeloop.imports.fields import Vocabulary
from closeloop.imports.known import Known, Resolver
from closeloop.imports.mapping import Mapping, MappingError, zone_named
from closeloop.imports.reading import SourceRow
from closeloop.imports.records import CellError, Creation, ImportedCase, RowErrors
from closeloop.imports.values import cell_text

__all__ = ["MapTally", "Mapper", "infer_status"]

TITLE_LENGTH = 60
_CUSTOMER = ("ref", "nickname", "name", "phone", "email", "id_number")
_PRODUCT = ("name", "model", "batch", "order_number", "purchase_date", "warranty_card")


@dataclasses.dataclass
class MapTally:
    """Counts so far: rows seen, cases made, rows with errors (rows = cases + failed)."""

    rows: int = 0
    cases: int = 0
    failed: int = 0


class Mapper:
    """A mapping bound to one file's header and one tenant's codes.

    Raises `MappingError` when the mapping reads columns the header lacks or a constant
    does not parse. `known` is the tenant's configuration (default: nothing is checked);
    `time_zone` is the tenant's, used for times without an offset when the mapping
    names no zone (default UTC).
    """

    def __init__(
        self,
        mapping: Mapping,
        header: Sequence[str],
        *,
        known: Known | None = None,
        time_zone: dt.tzinfo | None = None,
    ) -> None:
        self.mapping = mapping
        self.header = list(header)
        self.tally = MapTally()
        self.creations: list[Creation] = []
        known = known or Known()
        self._resolvers = {v: Resolver(v, known.of(v)) for v in get_args(Vocabulary)}
        source = mapping.spec.source
        zone = (zone_named(source.time_zone) if source.time_zone else None) or time_zone or dt.UTC
        problems = mapping.check_header(self.header)
        self._entries: list[Entry] = []
        self._outcomes: list[OutcomeReader] = []
        if not problems:
            for (section, name), spec in mapping.entries():
                try:
                    entry = Entry.compile(
                        section,
                        name,
                        spec,
                        self.header,
                        formats=source.date_formats,
                        zone=zone,
                        resolvers=dict(self._resolvers),
                    )
                except Bad as bad:
                    key = "value" if spec.value is not None else "default"
                    problems.append(mapping.problem((section, name, key), bad.reason))
                    continue
                self._entries.append(entry)
            self._outcomes = [
                OutcomeReader.compile(
                    target, spec, self.header, formats=source.date_formats, zone=zone
                )
                for target, spec in mapping.sla.items()
            ]
        if problems:
            raise MappingError(mapping.source, problems)
        # Constants and defaults may have created items: they are needed by every row.
        self._commit()

    def map_rows(self, rows: Iterable[SourceRow]) -> Iterator[ImportedCase | RowErrors]:
        for row in rows:
            yield self.map_row(row)

    def map_row(self, row: SourceRow) -> ImportedCase | RowErrors:
        self.tally.rows += 1
        result = self._map(row)
        if isinstance(result, RowErrors):
            self.tally.failed += 1
            for resolver in self._resolvers.values():
                resolver.rollback()
        else:
            self.tally.cases += 1
            self._commit()
        return result

    def _commit(self) -> None:
        for resolver in self._resolvers.values():
            self.creations += resolver.commit()

    def _map(self, row: SourceRow) -> ImportedCase | RowErrors:
        if row.problem is not None:
            return RowErrors(row.number, [CellError(row.number, None, None, "", row.problem)])
        errors: list[CellError] = []
        overflow = [cell_text(c) for c in row.cells[len(self.header) :]]
        if any(overflow):
            reason = (
                f"the row has {len(row.cells)} values but the header only "
                f"{len(self.header)} columns: a delimiter or quote is probably wrong"
            )
            errors.append(CellError(row.number, None, None, " | ".join(overflow), reason))
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for entry in self._entries:
            try:
                value = entry.take(row.cells)
            except Bad as bad:
                errors.append(
                    CellError(row.number, entry.column, entry.label, bad.value, bad.reason)
                )
                continue
            if value is None or value == [] or value == "":
                continue
            (values if entry.section == "fields" else extra)[entry.name] = value
        stated = {}
        for reader in self._outcomes:
            try:
                outcome = reader.take(row.cells)
            except OutcomeBad as bad:
                error = CellError(row.number, bad.column, reader.label, bad.value, bad.reason)
                errors.append(error)
                continue
            if outcome is not None:
                stated[reader.target] = outcome
        if stated:
            values["sla"] = stated
        if errors:
            return RowErrors(row.number, errors)
        if self.mapping.spec.source.keep_row:
            extra["source_row"] = {
                name: cell_text(cell)
                for name, cell in zip(self.header, row.cells, strict=False)
                if name and cell_text(cell)
            }
        return self._record(row.number, values, extra)

    def _record(self, number: int, values: dict[str, Any], extra: dict[str, Any]) -> ImportedCase:
        contact = values.pop("customer_contact", None)
        if contact:
            values.setdefault("customer_email" if "@" in contact else "customer_phone", contact)
        customer = {k: values.pop(f"customer_{k}", None) for k in _CUSTOMER}
        product = {k: values.pop(f"product_{k}", None) for k in _PRODUCT}
        description: str = values["description"]
        values.setdefault("kind", "complaint")
        values.setdefault("title", title_from(description))
        values.setdefault("status", infer_status(values))
        customer["external_ref"] = customer.pop("ref")
        return ImportedCase(
            row=number,
            customer=CustomerInput(**customer) if any(customer.values()) else None,
            product=ProductIn(**product) if any(product.values()) else None,
            extra=extra,
            **values,
        )


def title_from(description: str) -> str:
    """A title for a case whose file has none: the description's first line, shortened."""
    first = " ".join(description.strip().splitlines()[0].split()) if description.strip() else ""
    return first if len(first) <= TITLE_LENGTH else first[: TITLE_LENGTH - 1].rstrip() + "…"


def infer_status(values: dict[str, Any]) -> str:
    """The status a historical row most likely ended in, from the fields it fills:
    archived (archived_at) → closed or reopened (follow-up outcome; closed_at) →
    feedback_received (first satisfaction) → resolved (resolution or resolved_at) →
    in_progress (a progress note) → assigned (a handler) → registered."""
    outcome = values.get("followup_outcome")
    if values.get("archived_at"):
        return "archived"
    if outcome == "unresolved":
        return "reopened"
    if outcome or values.get("closed_at"):
        return "closed"
    if values.get("first_satisfaction"):
        return "feedback_received"
    if values.get("resolution_result") or values.get("resolved_at") or values.get("root_cause"):
        return "resolved"
    if values.get("progress_note"):
        return "in_progress"
    if values.get("handler"):
        return "assigned"
    return "registered"
