"""One compiled mapping entry: where its value comes from in a row, and how it is parsed.

`Entry.take(cells)` gives the entry's typed value for a row (None when empty) or raises
`Bad` with the reason; `Entry.compile` turns a `FieldSpec` into an entry for one file's
header, parsing constants and defaults once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from closeloop.imports._checks import entry_type
from closeloop.imports.fields import FIELDS, REQUIRED, FieldType
from closeloop.imports.known import Resolver
from closeloop.imports.mapping import FieldSpec, column_index
from closeloop.imports.reading import Cell
from closeloop.imports.records import Person
from closeloop.imports.values import (
    DEFAULT_DATE_FORMATS,
    cell_text,
    checked_option,
    match_key,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_int,
    parse_number,
    undecodable,
)

__all__ = ["Bad", "Entry"]

_MISS: Any = object()
PHONE_LENGTH = 40  # CustomerInput.phone


class Bad(Exception):
    """A value that cannot be taken: `reason`, and the value as the user sees it."""

    def __init__(self, reason: str, value: str = "") -> None:
        super().__init__(reason)
        self.reason, self.value = reason, value


@dataclasses.dataclass(eq=False)
class Entry:
    section: str  # "fields" or "extra"
    name: str
    spec: FieldSpec
    type: FieldType
    positions: list[int]
    formats: Sequence[str]
    zone: dt.tzinfo
    resolver: Resolver | None
    required: bool
    constant: Any = _MISS
    default: Any = _MISS
    map_exact: dict[str, Any] = dataclasses.field(default_factory=dict)
    map_folded: dict[str, Any] = dataclasses.field(default_factory=dict)
    fixed: dict[str, str] = dataclasses.field(default_factory=dict)
    # While a constant or default is parsed, an unknown value is an error of the mapping.
    parsing: bool = False

    @property
    def label(self) -> str:
        """How errors name the entry: the field, or `extra.<key>`."""
        return self.name if self.section == "fields" else f"extra.{self.name}"

    @property
    def column(self) -> str | None:
        """The column(s) errors point at; None for a constant."""
        columns = self.spec.referenced_columns()
        return ", ".join(columns) if columns else None

    @property
    def on_unknown(self) -> str:
        if self.spec.on_unknown:
            return self.spec.on_unknown
        return "report" if self.type in ("code", "codes") else "keep"

    @classmethod
    def compile(
        cls,
        section: str,
        name: str,
        spec: FieldSpec,
        header: list[str],
        *,
        formats: Sequence[str] | None,
        zone: dt.tzinfo,
        resolvers: dict[str, Resolver],
    ) -> Entry:
        """The entry for a file whose header the mapping was checked against; raises
        `Bad` when a constant or default does not parse (the caller locates it)."""
        from closeloop.imports.mapping import zone_named

        index = column_index(header)
        positions = [index.get(c, index.get(match_key(c), -1)) for c in spec.referenced_columns()]
        definition = FIELDS.get(name) if section == "fields" else None
        vocabulary = definition.vocabulary if definition else None
        entry = cls(
            section=section,
            name=name,
            spec=spec,
            type=entry_type(section, name, spec),
            positions=positions,
            formats=spec.formats or formats or DEFAULT_DATE_FORMATS,
            zone=(zone_named(spec.time_zone) if spec.time_zone else None) or zone,
            resolver=resolvers[vocabulary] if vocabulary else None,
            required=spec.required or (section == "fields" and name in REQUIRED),
            fixed={match_key(c): c for c in (definition.fixed or ())} if definition else {},
        )
        for key, value in (spec.map or {}).items():
            entry.map_exact[key] = value
            entry.map_folded.setdefault(match_key(key), value)
        if spec.default is not None:
            entry.default = entry.parse("default", spec.default)
        if spec.value is not None:
            entry.constant = entry.parse("value", spec.value)
        return entry

    def parse(self, key: str, value: Any) -> Any:
        """A constant or default of the mapping, parsed like a cell."""
        self.parsing = True
        try:
            if self.type == "codes" and isinstance(value, list):
                return self._codes([str(v) for v in value])
            return self._typed(value, cell_text(value))
        except Bad as bad:
            raise Bad(f"{key} {value!r}: {bad.reason}", str(value)) from None
        finally:
            self.parsing = False

    # ---- a row ------------------------------------------------------------------------

    def take(self, cells: Sequence[Cell]) -> Any:
        """This entry's value in a row: typed, or None when empty and not required."""
        if self.constant is not _MISS:
            return self.constant
        if len(self.positions) == 1:  # most cells of a wide sheet are empty: no work for them
            position = self.positions[0]
            cell = cells[position] if position < len(cells) else None
            if cell is None or cell == "":
                return self._empty()
            if self.spec.template is None:  # one column as it is: the common case, at once
                text = cell_text(cell)
                bad = undecodable(text)
                if bad:
                    raise Bad(f"bytes {bad} are not valid in the file's encoding", text)
                if not text:
                    return self._empty()
                return self._typed(cell if self.type in _RAW else text, text)
        texts = [cell_text(cells[p]) if p < len(cells) else "" for p in self.positions]
        for text in texts:
            bad = undecodable(text)
            if bad:
                raise Bad(f"bytes {bad} are not valid in the file's encoding", text)
        if self.spec.template is not None:
            text = self._render(texts)
        elif len(texts) == 1:
            text = texts[0]
        elif self.type in ("code", "codes"):
            return self._several(texts)
        else:
            text = self.spec.join.join(t for t in texts if t)
        if not text:
            return self._empty()
        raw: Cell = cells[self.positions[0]] if len(texts) == 1 and self.type in _RAW else text
        return self._typed(raw, text)

    def _empty(self) -> Any:
        if self.type == "codes":  # no demands stated: none, not the default
            return None
        if self.default is not _MISS:
            return self.default
        if self.required:
            raise Bad(f"{self.label} is required and the cell is empty")
        return None

    def _render(self, texts: list[str]) -> str:
        from closeloop.imports.mapping import placeholders

        template = self.spec.template or ""
        for column, text in zip(placeholders(template), texts, strict=True):
            template = template.replace("{" + column + "}", text)
        rendered = template.replace("{{", "{").replace("}}", "}").strip()
        return rendered if any(texts) else ""

    def _several(self, texts: list[str]) -> Any:
        present = [t for t in texts if t]
        if not present:
            return self._empty()
        if self.type == "codes":
            return self._codes(present)
        return self._path(present)

    def _typed(self, raw: Cell, text: str) -> Any:
        if self.type == "code":
            return self._code(text)
        if self.type == "codes":
            return self._codes([text])
        mapped = self._mapped(text)
        if mapped is _MISS:
            if self.spec.map and self.on_unknown == "report":
                raise Bad(f"{text!r} is not in the value map of {self.label}", text)
            if self.spec.map and self.on_unknown == "default":
                return None if self.default is _MISS else self.default
        elif mapped == "" or mapped is None:
            return self._empty()
        elif isinstance(mapped, bool):
            return mapped
        else:
            raw = text = str(mapped)
        return self._convert(raw, text)

    def _convert(self, raw: Cell, text: str) -> Any:
        kind, extra_type = self.type, self.spec.type
        try:
            if kind == "datetime":
                return parse_datetime(raw, self.formats, self.zone)
            if kind == "date":
                return parse_date(raw, self.formats)
            if kind == "bool":
                return parse_bool(checked_option(text))
            if extra_type == "int":
                return parse_int(raw)
            if extra_type == "number":
                return parse_number(raw)
        except ValueError as exc:
            raise Bad(str(exc), text) from None
        if kind == "person":
            return Person(email=text.lower()) if "@" in text else Person(name=text)
        if "@" not in text and self.name == "customer_email":
            raise Bad("not an e-mail address (no @)", text)
        if "@" not in text and kind == "contact" and len(text) > PHONE_LENGTH:
            reason = f"not an e-mail address and too long for a phone ({PHONE_LENGTH} at most)"
            raise Bad(reason, text)
        return self._text(text)

    def _text(self, text: str) -> str:
        if self.name == "title" and self.section == "fields":
            text = " ".join(text.split())
        limit = self.spec.truncate or (
            FIELDS[self.name].max_length if self.section == "fields" else None
        )
        if limit is None or len(text) <= limit:
            return text
        if self.spec.truncate or self.name == "title":
            return text[: limit - 1].rstrip() + "…"
        raise Bad(f"{len(text)} characters; {self.label} holds at most {limit}", text[:80] + "…")

    def _mapped(self, text: str) -> Any:
        if not self.spec.map:
            return _MISS
        found = self.map_exact.get(text, _MISS)
        return self.map_folded.get(match_key(text), _MISS) if found is _MISS else found

    # ---- codes ----------------------------------------------------------------------

    def _code(self, text: str) -> str | None:
        """One code: the first of the split parts that resolves, else `on_unknown`."""
        parts = self._split(text)
        for part in parts:
            code = self._resolve(part)
            if code is not None:
                return code or None
        fallback: str | None = self._unknown(text, [parts[0]] if parts else [text])
        return fallback

    def _path(self, levels: list[str]) -> str | None:
        """A category given as a tree path (one column per level, parent first)."""
        for candidate in (" / ".join(levels), levels[-1]):
            mapped = self._mapped(candidate)
            if mapped is not _MISS:
                return self._accept(str(mapped), candidate) or None
        assert self.resolver is not None
        found = self.resolver.find_path(levels)
        if found is not None:
            return found
        fallback: str | None = self._unknown(" / ".join(levels), levels)
        return fallback

    def _codes(self, texts: list[str]) -> list[str]:
        """Several codes (demands): every split part of every text, each resolved."""
        codes: list[str] = []
        for text in texts:
            for part in self._split(text):
                mapped = self._mapped(part)
                if isinstance(mapped, list):
                    codes += [self._accept(str(m), part) for m in mapped]
                    continue
                code = self._resolve(part)
                if code is None:
                    fallback = self._unknown(part, [part])
                    codes += (
                        fallback if isinstance(fallback, list) else [fallback] if fallback else []
                    )
                elif code:
                    codes.append(code)
        return list(dict.fromkeys(c for c in codes if c))

    def _split(self, text: str) -> list[str]:
        text = checked_option(text)
        separators = self.spec.split
        if not separators:
            return [text]
        for separator in separators[1:]:
            text = text.replace(separator, separators[0])
        return [part.strip() for part in text.split(separators[0]) if part.strip()]

    def _resolve(self, part: str) -> str | None:
        """The code `part` resolves to ("" for a value mapped to empty), or None: unknown."""
        mapped = self._mapped(part)
        if mapped is not _MISS:
            return self._accept(str(mapped), part) if mapped else ""
        if self.fixed:
            return self.fixed.get(match_key(part))
        assert self.resolver is not None
        return self.resolver.find(part)

    def _accept(self, code: str, text: str) -> str:
        """A code the value map gave: fixed codes were checked with the mapping; a tenant
        code must be known, or created when the mapping says so."""
        if self.fixed or self.resolver is None or self.resolver.known(code):
            return code
        if self.on_unknown == "create":
            return self.resolver.create_code(code, text)
        vocabulary = self.resolver.vocabulary
        raise Bad(
            f"{text!r} maps to {code!r}, which is not a {vocabulary} of the tenant "
            f"(known: {self.resolver.sample()})",
            text,
        )

    def _unknown(self, text: str, levels: list[str]) -> Any:
        choice = self.on_unknown
        if choice == "default" and not self.parsing:
            return None if self.default is _MISS else self.default
        if choice == "create" and self.resolver is not None:
            return self.resolver.create_path(levels)
        if self.fixed:
            known = ", ".join(self.fixed.values())
        else:
            assert self.resolver is not None
            known = self.resolver.sample() or "none"
        where = "the value map" if self.spec.map else "the value map (there is none)"
        raise Bad(f"unknown {self.label} {text!r}: not in {where} nor known ({known})", text)


_RAW: frozenset[FieldType] = frozenset({"datetime", "date", "text"})
