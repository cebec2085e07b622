"""Request and response bodies of the tenant configuration API.

Create bodies name every field; update bodies (PATCH) leave out what does not change,
and `null` clears an optional reference (`parent_id`, `manager_id`, ...). A `code` never
changes: cases and reports keep it, so a renamed item keeps its code and a new code is
a new item.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import UNSET, UnsetType

from closeloop.bounded import Name

__all__ = [
    "CategoryCreate",
    "CategoryRead",
    "CategoryUpdate",
    "ChannelCreate",
    "ChannelRead",
    "ChannelUpdate",
    "DemandTypeCreate",
    "DemandTypeRead",
    "DemandTypeUpdate",
    "DepartmentCreate",
    "DepartmentRead",
    "DepartmentUpdate",
    "ProfileRead",
    "ProfileUpdate",
    "SatisfactionLevel",
    "ScriptStep",
    "SeverityCreate",
    "SeverityRead",
    "SeverityUpdate",
]

CODE_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Code = Annotated[
    str,
    msgspec.Meta(
        pattern=CODE_PATTERN,
        description="lowercase letters, digits, '_', '-' and '.'; at most 64; never changes",
    ),
]
Position = Annotated[int, msgspec.Meta(ge=0, le=1_000_000, description="sort order in lists")]
Rank = Annotated[int, msgspec.Meta(ge=1, le=1000, description="higher is more severe")]
ScriptText = Annotated[str, msgspec.Meta(max_length=4000)]
Days = Annotated[int, msgspec.Meta(ge=0, le=365)]


class _Create(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`name_zh` or `name_en` (or both): a missing one is copied from the other."""

    code: Code
    name_zh: Name | None = None
    name_en: Name | None = None
    active: bool = True
    position: Position = 0


class _Update(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name_zh: Name | UnsetType = UNSET
    name_en: Name | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    position: Position | UnsetType = UNSET


class _Read(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name_zh: str
    name_en: str
    active: bool
    position: int
    created_at: dt.datetime


class CategoryCreate(_Create, kw_only=True):
    parent_id: uuid.UUID | None = None
    case_kind: str | None = msgspec.field(default=None)
    default_department_id: uuid.UUID | None = None


class CategoryUpdate(_Update, kw_only=True):
    parent_id: uuid.UUID | UnsetType | None = UNSET
    case_kind: str | UnsetType | None = UNSET
    default_department_id: uuid.UUID | UnsetType | None = UNSET


class CategoryRead(_Read, kw_only=True):
    parent_id: uuid.UUID | None
    case_kind: str | None
    default_department_id: uuid.UUID | None


class SeverityCreate(_Create, kw_only=True):
    rank: Rank


class SeverityUpdate(_Update, kw_only=True):
    rank: Rank | UnsetType = UNSET


class SeverityRead(_Read, kw_only=True):
    rank: int


class DepartmentCreate(_Create, kw_only=True):
    parent_id: uuid.UUID | None = None
    manager_id: uuid.UUID | None = None


class DepartmentUpdate(_Update, kw_only=True):
    parent_id: uuid.UUID | UnsetType | None = UNSET
    manager_id: uuid.UUID | UnsetType | None = UNSET


class DepartmentRead(_Read, kw_only=True):
    parent_id: uuid.UUID | None
    manager_id: uuid.UUID | None


class ChannelCreate(_Create, kw_only=True):
    pass


class ChannelUpdate(_Update, kw_only=True):
    pass


class ChannelRead(_Read, kw_only=True):
    pass


class DemandTypeCreate(_Create, kw_only=True):
    pass


class DemandTypeUpdate(_Update, kw_only=True):
    pass


class DemandTypeRead(_Read, kw_only=True):
    pass


class SatisfactionLevel(msgspec.Struct, forbid_unknown_fields=True):
    """One answer of the satisfaction scale, best first; `satisfied` false reopens a case."""

    code: Code
    name_zh: Name
    name_en: Name
    satisfied: bool


class ScriptStep(msgspec.Struct, forbid_unknown_fields=True):
    """One step of the follow-up call script."""

    step: Code
    text_zh: ScriptText
    text_en: ScriptText


class ProfileRead(msgspec.Struct):
    number_patterns: dict[str, str]
    satisfaction_scale: list[SatisfactionLevel]
    followup_script: list[ScriptStep]
    followup_window_days: list[int]
    repeat_window_days: int
    pii_mode: str


class ProfileUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Each field given replaces the stored value whole (a list or map is not merged)."""

    number_patterns: dict[str, str] | UnsetType = UNSET
    satisfaction_scale: list[SatisfactionLevel] | UnsetType = UNSET
    followup_script: list[ScriptStep] | UnsetType = UNSET
    followup_window_days: (
        Annotated[list[Days], msgspec.Meta(min_length=2, max_length=2)] | UnsetType
    ) = UNSET
    repeat_window_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | UnsetType = UNSET
    pii_mode: str | UnsetType = UNSET
