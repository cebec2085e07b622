"""The mapping file: how the columns of one kind of source file become case fields.

A mapping is TOML (docs/imports.md describes it with examples): `[source]` says how to
read the file, `[fields]` fills case fields from a column, several columns, a template
or a constant, with value maps and what to do with unknown values, and `[extra]` keeps
other columns in the case's `extra`. `parse_mapping` checks everything that needs no
file and no tenant; `Mapping.check_header` checks the columns against a file's header.
Every problem names its line and field (`fields.channel.on_unknown`).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
import zoneinfo
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from closeloop.config._file_format import KeyLines
from closeloop.imports.fields import EXTRA_TYPES, FIELDS
from closeloop.imports.values import match_key

__all__ = [
    "SHIPPED",
    "FieldSpec",
    "Mapping",
    "MappingError",
    "MappingProblem",
    "OutcomeSpec",
    "SourceSpec",
    "load_mapping",
    "parse_mapping",
    "shipped_mapping",
]

SHIPPED = ("cfpb", "heimao", "practice_form")
OnUnknown = Literal["report", "default", "create", "keep"]
ExtraType = Literal["text", "bool", "int", "number", "date", "datetime"]
assert set(EXTRA_TYPES) == set(ExtraType.__args__)  # type: ignore[attr-defined]
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class SourceSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`[source]`: how to read the file. Absent keys are detected (see `open_table`)."""

    format: Literal["csv", "xlsx"] | None = None
    encoding: str | None = None
    delimiter: Annotated[str, msgspec.Meta(min_length=1, max_length=1)] | None = None
    sheet: str | None = None
    header_row: Annotated[int, msgspec.Meta(ge=1)] = 1
    time_zone: str | None = None
    date_formats: list[str] | None = None
    keep_row: bool = False


class FieldSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One `[fields.<name>]` or `[extra.<key>]` entry; a bare string is `column`."""

    column: str | None = None
    columns: list[str] | None = None
    join: str = "\n"
    template: str | None = None
    value: Any = None
    default: Any = None
    map: dict[str, Any] | None = None
    on_unknown: OnUnknown | None = None
    split: str | None = None
    formats: list[str] | None = None
    time_zone: str | None = None
    required: bool = False
    truncate: Annotated[int, msgspec.Meta(ge=1)] | None = None
    type: ExtraType | None = None

    def referenced_columns(self) -> list[str]:
        """The source columns this entry reads, in order."""
        if self.column is not None:
            return [self.column]
        if self.columns is not None:
            return list(self.columns)
        if self.template is not None:
            return placeholders(self.template)
        return []


class OutcomeSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One `[sla.<target>]` entry: the column that says whether the target was met (the
    file gives no time of the answer), and the target the clock is due by (`due`, as an
    SLA policy writes a target) from the received time or the `start` column's."""

    column: str
    due: dict[str, Any]
    start: str | None = None
    map: dict[str, str] | None = None
    on_unknown: Literal["report", "default"] = "report"
    default: str | None = None

    def referenced_columns(self) -> list[tuple[str, str]]:
        """(key, column) of every column this entry reads."""
        return [("column", self.column)] + ([("start", self.start)] if self.start else [])


class MappingSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str | None = None
    description: str | None = None
    source: SourceSpec = msgspec.field(default_factory=SourceSpec)
    fields: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    sla: dict[str, Any] = {}


class MappingProblem(msgspec.Struct, frozen=True):
    """What is wrong with a mapping, where: `line` (None when unknown) and `field`."""

    line: int | None
    field: str
    message: str


class MappingError(Exception):
    """The mapping cannot be used; `problems` lists every problem found."""

    def __init__(self, source: str, problems: list[MappingProblem]) -> None:
        self.source, self.problems = source, problems
        super().__init__("\n".join(_describe(source, p) for p in problems))


def _describe(source: str, problem: MappingProblem) -> str:
    where = f"{source} line {problem.line}" if problem.line else source
    return f"{where}: {problem.field}: {problem.message}"


def placeholders(template: str) -> list[str]:
    """The column names a template refers to (`{Product}: {Issue}` → Product, Issue)."""
    return _PLACEHOLDER.findall(template.replace("{{", "").replace("}}", ""))


@dataclasses.dataclass
class Mapping:
    """A checked mapping: `fields` and `extra` by name, `sla` (outcomes the file states)
    by target, and where each key is in the text."""

    spec: MappingSpec
    fields: dict[str, FieldSpec]
    extra: dict[str, FieldSpec]
    source: str
    lines: KeyLines
    sla: dict[str, OutcomeSpec] = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name or Path(self.source).stem

    def read_options(self) -> dict[str, Any]:
        """The `[source]` keys as `open_table` takes them (absent ones are detected)."""
        source = self.spec.source
        return {
            "format": source.format,
            "encoding": source.encoding,
            "delimiter": source.delimiter,
            "sheet": source.sheet,
            "header_row": source.header_row,
        }

    def problem(self, path: tuple[str, ...], message: str) -> MappingProblem:
        """A problem at `path` (`("fields", "channel", "map")`), located in the text."""
        return MappingProblem(self.lines.find(list(path)), ".".join(path), message)

    def entries(self) -> Iterator[tuple[tuple[str, str], FieldSpec]]:
        """Every entry with its path: `("fields", name)` or `("extra", key)`."""
        for name, spec in self.fields.items():
            yield ("fields", name), spec
        for key, spec in self.extra.items():
            yield ("extra", key), spec

    def check_header(self, header: list[str]) -> list[MappingProblem]:
        """The columns this mapping reads that the file's `header` does not have."""
        index = column_index(header)
        shown = ", ".join(h for h in header if h)
        read: list[tuple[tuple[str, ...], str]] = []
        for path, spec in self.entries():
            where = "column" if spec.column is not None else "columns"
            if spec.template is not None:
                where = "template"
            read += [((*path, where), column) for column in spec.referenced_columns()]
        for target, outcome in self.sla.items():
            read += [(("sla", target, key), column) for key, column in outcome.referenced_columns()]
        problems = []
        for where_, column in read:
            found = index.get(column, index.get(match_key(column)))
            if found is None:
                message = f"the file has no column {column!r}; its columns are: {shown}"
            elif found < 0:
                message = f"the file has more than one column named {column!r}"
            else:
                continue
            problems.append(self.problem(where_, message))
        return problems


def column_index(header: list[str]) -> dict[str, int]:
    """Header name (as written, and folded by `match_key`) → position; -1 when ambiguous."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if not name:
            continue
        for key in dict.fromkeys((name, match_key(name))):
            index[key] = -1 if key in index and index[key] != position else position
    return index


def load_mapping(path: Path | str) -> Mapping:
    """Read and check the mapping file at `path`; raise `MappingError` naming line and field."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(
            str(path), [MappingProblem(None, "-", f"cannot read the file: {exc}")]
        ) from None
    return parse_mapping(text, source=str(path))


def shipped_mapping(name: str) -> Mapping:
    """One of the mappings shipped with Closeloop (`SHIPPED`): cfpb, heimao, practice_form."""
    if name not in SHIPPED:
        raise KeyError(f"no shipped mapping {name!r}; shipped: {', '.join(SHIPPED)}")
    resource = resources.files("closeloop.imports") / "mappings" / f"{name}.toml"
    return parse_mapping(resource.read_text(encoding="utf-8"), source=f"{name}.toml")


def parse_mapping(text: str, *, source: str = "mapping.toml") -> Mapping:
    """Check a mapping's text; raise `MappingError` with every problem found."""
    lines = KeyLines.scan(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise MappingError(
            source, [MappingProblem(line, "-", f"TOML syntax error: {exc}")]
        ) from None
    spec = _convert(data, MappingSpec, source, lines, [])
    problems: list[MappingProblem] = []
    fields = _entries(spec.fields, "fields", source, lines, problems)
    extra = _entries(spec.extra, "extra", source, lines, problems)
    sla: dict[str, OutcomeSpec] = {}
    for target, raw in spec.sla.items():
        try:
            sla[target] = _convert(raw, OutcomeSpec, source, lines, ["sla", target])
        except MappingError as exc:
            problems += exc.problems
    mapping = Mapping(spec, fields, extra, source, lines, sla)
    problems += _check(mapping)
    if problems:
        raise MappingError(source, problems)
    return mapping


def _entries(
    table: dict[str, Any],
    section: str,
    source: str,
    lines: KeyLines,
    problems: list[MappingProblem],
) -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    for name, raw in table.items():
        path = [section, name]
        if section == "fields" and name not in FIELDS:
            close = difflib.get_close_matches(name, FIELDS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown field {name!r}{hint} (docs/imports.md lists the fields)"
            problems.append(MappingProblem(lines.find(list(path)), ".".join(path), message))
            continue
        if isinstance(raw, str):
            out[name] = FieldSpec(column=raw)
            continue
        try:
            out[name] = _convert(raw, FieldSpec, source, lines, list(path))
        except MappingError as exc:
            problems += exc.problems
    return out


_MSGSPEC_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD_NAMED = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _convert(data: Any, kind: type[Any], source: str, lines: KeyLines, prefix: list[str]) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        match = _MSGSPEC_AT.match(str(exc))
        assert match is not None
        where = [*prefix, *re.findall(r"[^.\[\]]+", match["path"] or "")]
        named = _FIELD_NAMED.search(match["message"])
        if named:
            where.append(named.group(1))
        field = ".".join(where) or "-"
        problem = MappingProblem(lines.find(list(where)), field, match["message"])
        raise MappingError(source, [problem]) from None


def _check(mapping: Mapping) -> list[MappingProblem]:
    from closeloop.imports._checks import check_entry, check_required, check_source
    from closeloop.imports._outcomes import check_outcome

    problems = check_source(mapping)
    for (section, name), spec in mapping.entries():
        problems += check_entry(mapping, section, name, spec)
    problems += check_required(mapping)
    for target, outcome in mapping.sla.items():
        problems += check_outcome(mapping, target, outcome)
    return problems


def zone_named(name: str) -> zoneinfo.ZoneInfo | None:
    """The time zone called `name`, or None when there is none by that name."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
