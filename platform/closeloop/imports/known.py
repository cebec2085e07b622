"""The tenant's codes a mapping resolves values against, and the resolution itself.

`Known` holds, per vocabulary (channels, categories, severities, departments, demand
types, the satisfaction scale), the items with their names; the writer fills it from
the tenant's configuration, `Known.defaults()` from what a new tenant starts with. A
vocabulary left as None is not checked: every mapped code is accepted.

A value resolves, in order: through the field's value map; else as a known code or a
known name (Chinese or English, compared without case or width differences); for a
category tree path level by level, each level among the children of the one before.
What does not resolve is unknown, and the field's `on_unknown` decides.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence

from closeloop.config.schemas import CODE_PATTERN
from closeloop.imports.fields import Vocabulary
from closeloop.imports.records import Creation, CreationKind
from closeloop.imports.values import make_code, match_key

__all__ = ["Known", "KnownItem", "Resolver"]

CODE = re.compile(CODE_PATTERN)


@dataclasses.dataclass(frozen=True, slots=True)
class KnownItem:
    code: str
    names: tuple[str, ...] = ()
    parent: str | None = None


@dataclasses.dataclass
class Known:
    """The tenant's items per vocabulary; None: not checked."""

    channel: list[KnownItem] | None = None
    category: list[KnownItem] | None = None
    severity: list[KnownItem] | None = None
    department: list[KnownItem] | None = None
    demand: list[KnownItem] | None = None
    satisfaction: list[KnownItem] | None = None

    def of(self, vocabulary: Vocabulary) -> list[KnownItem] | None:
        items: list[KnownItem] | None = getattr(self, vocabulary)
        return items

    @classmethod
    def defaults(cls) -> Known:
        """What a new tenant has (`closeloop.config.defaults`)."""
        from closeloop.config import defaults

        def named(rows: Iterable[Sequence[object]]) -> list[KnownItem]:
            return [KnownItem(str(r[0]), (str(r[1]), str(r[2]))) for r in rows]

        scale = defaults.DEFAULT_PROFILE["satisfaction_scale"]
        return cls(
            channel=named(defaults.DEFAULT_CHANNELS),
            category=named(defaults.DEFAULT_CATEGORIES),
            severity=named(defaults.DEFAULT_SEVERITIES),
            department=[],
            demand=named(defaults.DEFAULT_DEMAND_TYPES),
            satisfaction=[
                KnownItem(level["code"], (level["name_zh"], level["name_en"])) for level in scale
            ],
        )


_KIND_OF: dict[Vocabulary, CreationKind] = {
    "channel": "channel",
    "category": "category",
    "department": "department",
    "demand": "demand",
}


class Resolver:
    """Resolves values of one vocabulary and records the items `create` adds.

    Additions are tentative (`pending`) until `commit()`: a row that fails for another
    reason must not leave a category behind. `rollback()` forgets them.
    """

    def __init__(self, vocabulary: Vocabulary, items: list[KnownItem] | None) -> None:
        self.vocabulary = vocabulary
        self.checked = items is not None
        self._codes: set[str] = set()
        self._names: dict[tuple[str | None, str], str] = {}
        self._parents: dict[str, str | None] = {}
        self.pending: list[Creation] = []
        self.created: list[Creation] = []
        for item in items or ():
            self._add(item.code, item.names, item.parent)

    def _add(self, code: str, names: Iterable[str], parent: str | None) -> None:
        self._codes.add(code)
        self._parents[code] = parent
        for name in (code, *names):
            key = match_key(name)
            self._names.setdefault((parent, key), code)
            self._names.setdefault(("*", key), code)

    def known(self, code: str) -> bool:
        return not self.checked or code in self._codes

    def find(self, text: str, parent: str | None = None, *, anywhere: bool = True) -> str | None:
        """The known code whose code or name is `text` (under `parent` for a tree level;
        `anywhere`: at any level when it is a single value)."""
        if not self.checked and CODE.fullmatch(text):
            return text
        key = match_key(text)
        found = self._names.get((parent, key))
        if found is None and anywhere and parent is None:
            found = self._names.get(("*", key))
        return found

    def find_path(self, levels: Sequence[str]) -> str | None:
        """The deepest level of a tree path, from the top: each level among the children
        of the one before (a path of one level is a top-level item)."""
        parent: str | None = None
        for level in levels:
            parent = self.find(level, parent, anywhere=False)
            if parent is None:
                return None
        return parent

    def create_path(self, levels: Sequence[str]) -> str:
        """The code of the deepest level, adding (pending) the levels that are missing."""
        parent: str | None = None
        for level in levels:
            existing = self.find(level, parent, anywhere=False)
            if existing is None:
                code = make_code(level, parent)
                if code not in self._codes:
                    self.pending.append(Creation(_KIND_OF[self.vocabulary], code, level, parent))
                    self._add(code, (level,), parent)
                existing = code
            parent = existing
        assert parent is not None
        return parent

    def create_code(self, code: str, name: str) -> str:
        """Add (pending) an item with a code the value map gave."""
        if code not in self._codes:
            self.pending.append(Creation(_KIND_OF[self.vocabulary], code, name, None))
            self._add(code, (name,), None)
        return code

    def commit(self) -> list[Creation]:
        added, self.pending = self.pending, []
        self.created += added
        return added

    def rollback(self) -> None:
        for creation in self.pending:
            self._codes.discard(creation.code)
            self._parents.pop(creation.code, None)
            for key in [k for k, v in self._names.items() if v == creation.code]:
                del self._names[key]
        self.pending = []

    def sample(self, limit: int = 12) -> str:
        """Some known codes, for an error message."""
        codes = sorted(self._codes)
        shown = ", ".join(codes[:limit])
        return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")
