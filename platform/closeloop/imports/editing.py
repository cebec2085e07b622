"""A mapping edited as a form: each case field's source, value map, unknown-value policy
and default, read from a mapping's TOML and written back as TOML.

The console's mapping form shows `field_views(text)` and sends back one `FieldEdit` per
field; `compose_mapping` lays the edits over the mapping the form started from, keeping
every option the form does not show (`split`, `formats`, `join`, `truncate`, ...), and
the result is checked by `parse_mapping` like any mapping file.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Sequence
from typing import Any

import tomli_w

from closeloop.errors import UnprocessableEntity
from closeloop.imports.fields import FIELDS, REQUIRED

__all__ = [
    "KEEP",
    "VALUE",
    "FieldEdit",
    "FieldView",
    "compose_mapping",
    "extra_views",
    "field_views",
    "map_lines",
    "read_map_lines",
    "sla_views",
]

KEEP = "=keep"  # the source stays as the mapping has it (several columns, a template)
VALUE = "=value"  # a fixed value for every row
_SOURCES = ("column", "columns", "template", "value")
_POLICIES = ("report", "default", "create", "keep")


@dataclasses.dataclass(frozen=True, slots=True)
class FieldEdit:
    """What the form says of one field: `source` is "" (not mapped), `KEEP`, `VALUE`
    (then `value`) or a column name."""

    source: str = ""
    value: str = ""
    map_text: str | None = None  # None: the form did not offer a value map
    on_unknown: str = ""
    default: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class FieldView:
    """One field of the form as the mapping has it."""

    name: str
    type: str
    source: str  # as in FieldEdit
    value: str
    kept: str  # what KEEP keeps, described ("columns: A, B"); "" when nothing
    map_text: str
    on_unknown: str
    default: str
    coded: bool  # a code field: the form offers a value map and the unknown-value policy
    creatable: bool
    required: bool


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value)
    return "" if value is None else str(value)


def map_lines(table: dict[str, Any] | None) -> str:
    """A value map as the form's text: one `text = value` a line."""
    return "\n".join(f"{key} = {_text(value)}" for key, value in (table or {}).items())


def read_map_lines(text: str, *, field: str) -> dict[str, Any]:
    """The form's value map text back as a table; a line without `=` is a 422."""
    definition = FIELDS[field]
    table: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.rpartition("=")
        if not sep or not key.strip():
            raise UnprocessableEntity(
                f"{field}: value map line {number} ({line.strip()!r}): write `text = code`",
                field=f"m.{field}",
            )
        value = value.strip()
        parsed: Any = value
        if definition.type == "codes":
            parsed = [part.strip() for part in value.split(",") if part.strip()]
        elif definition.type == "bool" and value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        table[key.strip()] = parsed
    return table


def _describe(entry: dict[str, Any]) -> str:
    if "columns" in entry:
        return "columns: " + ", ".join(str(c) for c in entry["columns"])
    if "template" in entry:
        return f"template: {entry['template']}"
    return ""


def _entry(raw: Any) -> dict[str, Any]:
    return {"column": raw} if isinstance(raw, str) else dict(raw or {})


def field_views(text: str) -> list[FieldView]:
    """Every case field, in the order of `FIELDS`, as the mapping `text` fills it."""
    fields = tomllib.loads(text).get("fields", {})
    views = []
    for name, definition in FIELDS.items():
        entry = _entry(fields.get(name))
        source, value = "", ""
        if "column" in entry:
            source = str(entry["column"])
        elif "value" in entry:
            source, value = VALUE, _text(entry["value"])
        elif entry.keys() & {"columns", "template"}:
            source = KEEP
        views.append(
            FieldView(
                name=name,
                type=definition.type,
                source=source,
                value=value,
                kept=_describe(entry),
                map_text=map_lines(entry.get("map")),
                on_unknown=str(entry.get("on_unknown") or ""),
                default=_text(entry.get("default")),
                coded=definition.type in ("code", "codes", "bool"),
                creatable=definition.creatable,
                required=name in REQUIRED,
            )
        )
    return views


def extra_views(text: str) -> list[tuple[str, str]]:
    """The mapping's `[extra]` entries: key and the column(s) each keeps."""
    views = []
    for key, raw in tomllib.loads(text).get("extra", {}).items():
        entry = _entry(raw)
        views.append((key, str(entry.get("column") or _describe(entry) or entry.get("value"))))
    return views


def sla_views(text: str) -> list[tuple[str, list[str]]]:
    """The mapping's `[sla]` entries: the target and the columns each reads (the
    outcome's, then the start's)."""
    views = []
    for target, raw in tomllib.loads(text).get("sla", {}).items():
        entry = dict(raw) if isinstance(raw, dict) else {}
        views.append((target, [str(entry[k]) for k in ("column", "start") if entry.get(k)]))
    return views


def compose_mapping(
    base_text: str,
    *,
    name: str,
    edits: dict[str, FieldEdit],
    extra_columns: Sequence[str] = (),
    extra_keys: Sequence[str] | None = None,
    sla_keys: Sequence[str] | None = None,
) -> str:
    """The mapping `base_text` with the form's `edits` laid over it, as TOML: fields
    not in `edits` are kept as they are, so is `[source]`; of `[extra]`, the entries
    named in `extra_keys` (all when None), and each of `extra_columns` under its own
    name; of `[sla]`, the targets named in `sla_keys` (all when None)."""
    document = tomllib.loads(base_text)
    document["name"] = name
    fields: dict[str, Any] = {}
    base_fields = document.get("fields", {})
    for field in FIELDS:
        edit = edits.get(field)
        entry = _entry(base_fields.get(field))
        if edit is None:
            if entry:
                fields[field] = base_fields[field]
            continue
        if edit.source == "" or (edit.source == KEEP and not entry.keys() & set(_SOURCES)):
            continue
        if edit.source != KEEP:
            entry = {k: v for k, v in entry.items() if k not in _SOURCES}
            if edit.source == VALUE:
                entry["value"] = edit.value
            else:
                entry["column"] = edit.source
        if edit.map_text is not None:
            table = read_map_lines(edit.map_text, field=field)
            entry.pop("map", None)
            if table:
                entry["map"] = table
            entry.pop("on_unknown", None)
            if edit.on_unknown in _POLICIES:
                entry["on_unknown"] = edit.on_unknown
            entry.pop("default", None)
            if edit.default:
                entry["default"] = edit.default
        fields[field] = entry["column"] if list(entry) == ["column"] else entry
    document["fields"] = fields
    extra = {
        key: entry
        for key, entry in document.get("extra", {}).items()
        if extra_keys is None or key in extra_keys
    }
    for column in extra_columns:
        extra.setdefault(column, column)
    document["extra"] = extra
    sla = {k: v for k, v in document.pop("sla", {}).items() if sla_keys is None or k in sla_keys}
    if sla:
        document["sla"] = sla
    return tomli_w.dumps(document)
