"""SLA outcomes a file states (`[sla.<target>]` of a mapping): checked with the mapping,
read from each row.

Some exports say whether a promise was kept but not when the answer came: the CFPB's
`Timely response?` (did the company answer within 15 days). Such a column, through the
entry's value map (else read as yes/no, or the words `met` and `breached`), gives a
`SlaOutcome`: the imported case then has that target's clock as history, met or
breached as the file says (`ClockService.record_stated`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from closeloop.imports._entry import Bad
from closeloop.imports.mapping import column_index
from closeloop.imports.reading import Cell
from closeloop.imports.records import SlaOutcome
from closeloop.imports.values import (
    DEFAULT_DATE_FORMATS,
    cell_text,
    match_key,
    parse_bool,
    parse_datetime,
    undecodable,
)
from closeloop.sla.policy_schemas import TargetSpec
from closeloop.sla.timing import TARGETS

if TYPE_CHECKING:
    from closeloop.imports.mapping import Mapping, MappingProblem, OutcomeSpec

__all__ = ["OUTCOMES", "OutcomeBad", "OutcomeReader", "check_outcome"]

# What a value map may give: the target was met, breached, or "" (no clock for the row).
OUTCOMES = ("met", "breached", "")


def check_outcome(mapping: Mapping, target: str, spec: OutcomeSpec) -> list[MappingProblem]:
    """An `[sla.<target>]` entry's problems that need neither a file nor a tenant."""
    problems: list[MappingProblem] = []

    def add(key: tuple[str, ...], message: str) -> None:
        problems.append(mapping.problem(("sla", target, *key), message))

    if target not in TARGETS:
        add((), f"unknown SLA target {target!r}; targets are {', '.join(TARGETS)}")
    try:
        due = msgspec.convert(spec.due, TargetSpec)
    except msgspec.ValidationError as exc:
        add(("due",), str(exc).replace("`$.", "`due."))
    else:
        if due.unit == "working_days" and (due.days is None or due.hours is not None):
            add(("due",), "a working_days target counts days: give days, not hours")
        elif due.unit != "working_days" and (due.hours is None or due.days is not None):
            add(("due",), f"a {due.unit} target counts hours: give hours (15 days = 360)")
        if due.earliest_days is not None:
            add(("due", "earliest_days"), "a stated outcome has a due time, not a window")
    for key, value in (spec.map or {}).items():
        if value not in OUTCOMES:
            add(("map", key), f'{value!r}: expected met, breached or "" (no clock)')
    if spec.default is not None and spec.default not in OUTCOMES:
        add(("default",), f'{spec.default!r}: expected met, breached or "" (no clock)')
    return problems


class OutcomeBad(Bad):
    """A value of an `[sla]` entry that cannot be taken, with the column it is in."""

    def __init__(self, column: str, reason: str, value: str = "") -> None:
        super().__init__(reason, value)
        self.column = column


_WORDS = {"met": True, "breached": False}


@dataclasses.dataclass(eq=False)
class OutcomeReader:
    """One `[sla.<target>]` entry bound to a file's header (checked against it before)."""

    target: str
    spec: OutcomeSpec
    position: int
    start_position: int | None
    formats: Sequence[str]
    zone: dt.tzinfo
    map_exact: dict[str, str]
    map_folded: dict[str, str]

    @property
    def label(self) -> str:
        return f"sla.{self.target}"

    @classmethod
    def compile(
        cls,
        target: str,
        spec: OutcomeSpec,
        header: list[str],
        *,
        formats: Sequence[str] | None,
        zone: dt.tzinfo,
    ) -> OutcomeReader:
        index = column_index(header)

        def position(column: str) -> int:
            return index.get(column, index.get(match_key(column), -1))

        folded: dict[str, str] = {}
        for key, value in (spec.map or {}).items():
            folded.setdefault(match_key(key), value)
        return cls(
            target=target,
            spec=spec,
            position=position(spec.column),
            start_position=position(spec.start) if spec.start else None,
            formats=formats or DEFAULT_DATE_FORMATS,
            zone=zone,
            map_exact=dict(spec.map or {}),
            map_folded=folded,
        )

    def take(self, cells: Sequence[Cell]) -> SlaOutcome | None:
        """What the row states of the target; None when it states nothing."""
        met = self._met(_text(cells, self.position, self.spec.column))
        if met is None:
            return None
        started = None
        if self.start_position is not None:
            assert self.spec.start is not None
            raw = cells[self.start_position] if self.start_position < len(cells) else None
            text = _text(cells, self.start_position, self.spec.start)
            if text:
                try:
                    started = parse_datetime(raw, self.formats, self.zone)
                except ValueError as exc:
                    raise OutcomeBad(self.spec.start, str(exc), text) from None
        return SlaOutcome(met=met, due=self.spec.due, started_at=started)

    def _met(self, text: str) -> bool | None:
        if not text:
            return _WORDS.get(self.spec.default or "")
        stated: Any = self.map_exact.get(text, self.map_folded.get(match_key(text)))
        if stated is not None:
            return _WORDS.get(stated)
        if match_key(text) in _WORDS:
            return _WORDS[match_key(text)]
        try:
            return parse_bool(text)
        except ValueError:
            if self.spec.on_unknown == "default":
                return _WORDS.get(self.spec.default or "")
            where = "the value map" if self.spec.map else "met, breached or yes/no"
            reason = f"{text!r} is not in {where} of {self.label}"
            raise OutcomeBad(self.spec.column, reason, text) from None


def _text(cells: Sequence[Cell], position: int, column: str) -> str:
    text = cell_text(cells[position]) if 0 <= position < len(cells) else ""
    bad = undecodable(text)
    if bad:
        raise OutcomeBad(column, f"bytes {bad} are not valid in the file's encoding", text)
    return text
