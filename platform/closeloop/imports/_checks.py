"""The checks of a mapping that need neither a file nor a tenant (`parse_mapping`)."""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, Any

from closeloop.imports.fields import FIELDS, REQUIRED, FieldType

if TYPE_CHECKING:
    from closeloop.imports.mapping import FieldSpec, Mapping, MappingProblem

__all__ = ["check_entry", "check_required", "check_source", "entry_type"]

_DATES: frozenset[FieldType] = frozenset({"datetime", "date"})
_CODES: frozenset[FieldType] = frozenset({"code", "codes"})
_TEXTS: frozenset[FieldType] = frozenset({"text", "contact", "person"})
_EXTRA_TYPES: dict[str, FieldType] = {
    "text": "text",
    "bool": "bool",
    "int": "text",
    "number": "text",
    "date": "date",
    "datetime": "datetime",
}


def entry_type(section: str, name: str, spec: FieldSpec) -> FieldType:
    """The type of a `[fields]` entry (from the field) or an `[extra]` one (its `type`)."""
    if section == "fields":
        return FIELDS[name].type
    return _EXTRA_TYPES[spec.type or "text"]


def check_source(mapping: Mapping) -> list[MappingProblem]:
    from closeloop.imports.mapping import zone_named

    source = mapping.spec.source
    problems = []
    if source.time_zone is not None and zone_named(source.time_zone) is None:
        problems.append(
            mapping.problem(("source", "time_zone"), f"unknown time zone {source.time_zone!r}")
        )
    if source.encoding is not None:
        try:
            codecs.lookup(source.encoding)
        except LookupError:
            message = f"unknown encoding {source.encoding!r}"
            problems.append(mapping.problem(("source", "encoding"), message))
    return problems


def check_required(mapping: Mapping) -> list[MappingProblem]:
    return [
        mapping.problem(("fields",), f"{name} must be mapped (a column, a template or a value)")
        for name in REQUIRED
        if name not in mapping.fields
    ]


def check_entry(mapping: Mapping, section: str, name: str, spec: FieldSpec) -> list[MappingProblem]:
    from closeloop.imports.mapping import zone_named

    path = (section, name)
    kind = entry_type(section, name, spec)
    problems: list[MappingProblem] = []

    def add(key: str | None, message: str) -> None:
        problems.append(mapping.problem((*path, key) if key else path, message))

    given = [k for k in ("column", "columns", "template", "value") if getattr(spec, k) is not None]
    if len(given) != 1:
        add(None, "give exactly one of column, columns, template or value")
    if spec.columns is not None and not spec.columns:
        add("columns", "name at least one column")
    if spec.template is not None and not _placeholders(spec.template):
        add("template", 'a template names columns in braces: "{Product}: {Issue}"')
    if section == "fields" and spec.type is not None:
        add("type", "type is for [extra] entries; a field's type is fixed")
    if spec.split is not None and (kind not in _CODES or not spec.split):
        add("split", "split (separator characters) is for code fields such as demands")
    if (spec.formats is not None or spec.time_zone is not None) and kind not in _DATES:
        add("formats" if spec.formats is not None else "time_zone", "only for dates and times")
    if spec.time_zone is not None and zone_named(spec.time_zone) is None:
        add("time_zone", f"unknown time zone {spec.time_zone!r}")
    if spec.truncate is not None and kind not in _TEXTS:
        add("truncate", "only for text")
    if spec.columns is not None and len(spec.columns) > 1 and kind == "code" and name != "category":
        add("columns", "several columns make a tree path, which only category has")
    _check_unknown(spec, kind, name if section == "fields" else None, add)
    problems += _check_values(mapping, path, spec, kind, name if section == "fields" else None)
    return problems


def _placeholders(template: str) -> list[str]:
    from closeloop.imports.mapping import placeholders

    return placeholders(template)


def _check_unknown(spec: FieldSpec, kind: FieldType, field: str | None, add: Any) -> None:
    """`on_unknown` fits the field (the problems are added through `add`)."""
    choice = spec.on_unknown
    definition = FIELDS.get(field) if field else None
    if choice == "create" and not (definition and definition.creatable):
        creatable = ", ".join(n for n, d in FIELDS.items() if d.creatable)
        add("on_unknown", f'"create" is only for {creatable}')
    if choice == "keep" and kind in _CODES:
        add("on_unknown", "a code field cannot keep an unknown value: report, default or create")
    required = spec.required or field in REQUIRED
    if choice == "default" and spec.default is None and required:
        add("on_unknown", '"default" needs a default value for a required field')
    if choice in ("report", "default") and kind not in _CODES and kind != "bool" and not spec.map:
        add("on_unknown", "only a code field or a value map has unknown values")


def _check_values(
    mapping: Mapping, path: tuple[str, str], spec: FieldSpec, kind: FieldType, field: str | None
) -> list[MappingProblem]:
    """Map values and constants of the right shape; fixed codes among the allowed ones."""
    fixed = FIELDS[field].fixed if field else None
    problems = []

    def wrong(key: tuple[str, ...], value: Any) -> str | None:
        if kind == "codes":
            values = value if isinstance(value, list) else [value]
            if not all(isinstance(v, str) for v in values):
                return "a code or a list of codes"
            return None
        if kind == "bool":
            return None if isinstance(value, bool | str) else 'true, false or ""'
        if not isinstance(value, str):
            return 'text ("" for empty)'
        if fixed and value and value not in fixed:
            return f"one of {', '.join(fixed)}"
        return None

    for key, value in (spec.map or {}).items():
        expected = wrong((key,), value)
        if expected:
            problems.append(mapping.problem((*path, "map", key), f"{value!r}: expected {expected}"))
    for key in ("value", "default"):
        value = getattr(spec, key)
        if value is None or kind in _DATES or (kind == "text" and spec.type in ("int", "number")):
            continue
        expected = wrong((key,), value)
        if expected and not (kind == "text" and isinstance(value, int | float)):
            problems.append(mapping.problem((*path, key), f"{value!r}: expected {expected}"))
    return problems
