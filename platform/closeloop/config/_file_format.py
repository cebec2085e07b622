"""The `tenants/<slug>.toml` format: its shape, the checks that need no database, and
where in the file each key is, so that every error names a line and a field.

A section that is left out is left alone by `apply` (for a new tenant: the defaults);
a list section that is present is the whole list: items missing from it are retired.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from closeloop.bounded import Email, Name, Slug
from closeloop.config.models import CASE_KINDS
from closeloop.config.schemas import CODE_PATTERN, SatisfactionLevel, ScriptStep
from closeloop.config.service import check_profile
from closeloop.errors import UnprocessableEntity
from closeloop.identity.models import ROLES, Permission
from closeloop.notify.schemas import TemplateCreate
from closeloop.sla.calendar_schemas import CalendarCreate
from closeloop.sla.policy_schemas import SlaPolicyCreate
from closeloop.tenancy.service import LOCALES

__all__ = [
    "CalendarCreate",
    "CategorySpec",
    "DepartmentSpec",
    "ItemSpec",
    "PluginSpec",
    "PolicySpec",
    "SeveritySpec",
    "TemplateCreate",
    "TenantFile",
    "TenantFileError",
    "TenantSpec",
    "UserSpec",
    "WebhookSpec",
    "parse_tenant_file",
]

Code = Annotated[str, msgspec.Meta(pattern=CODE_PATTERN)]
Position = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
MIN_PASSWORD = 10


class TenantFileError(Exception):
    """The file cannot be applied; `line` and `field` say where (`line` may be unknown)."""

    def __init__(self, source: str, line: int | None, field: str, message: str) -> None:
        self.source, self.line, self.field, self.message = source, line, field, message
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {field}: {message}")


class TenantSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    slug: Slug
    name: Name
    locale: str = "zh-CN"
    timezone: str = "Asia/Shanghai"


class ProfileSection(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    number_patterns: dict[str, str] | UnsetType = UNSET
    satisfaction_scale: list[SatisfactionLevel] | UnsetType = UNSET
    followup_script: list[ScriptStep] | UnsetType = UNSET
    followup_window_days: list[int] | UnsetType = UNSET
    repeat_window_days: int | UnsetType = UNSET
    pii_mode: str | UnsetType = UNSET


class ItemSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One list item; `position` defaults to its place in the file (1, 2, ...)."""

    code: Code
    name_zh: Name | None = None
    name_en: Name | None = None
    active: bool = True
    position: Position | None = None


class SeveritySpec(ItemSpec, kw_only=True):
    rank: Annotated[int, msgspec.Meta(ge=1, le=1000)]


class DepartmentSpec(ItemSpec, kw_only=True):
    parent: str | None = None
    manager: str | None = None  # a user's e-mail


class CategorySpec(ItemSpec, kw_only=True):
    parent: str | None = None
    kind: str | None = None  # the case kind this category suggests
    department: str | None = None  # default department code


class UserSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A staff member; `password` or `password_env` is used only when the user is created."""

    email: Email
    display_name: Name
    roles: list[str]
    permissions: list[str] = []
    department: str | None = None
    active: bool = True
    password: str | None = None
    password_env: str | None = None


class PluginSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`[plugins.<name>]`: an installed plugin switched on (or off) for the tenant;
    `settings` left out keeps the stored ones (see `_file_plugins`)."""

    enabled: bool = True
    settings: dict[str, Any] | None = None


class PolicySpec(SlaPolicyCreate, kw_only=True):
    """`[[sla_policies]]`: a policy as the API takes it, its calendar named by `calendar`
    (a calendar code; left out: the tenant's default calendar), never by id; its
    escalation ladder in `[[sla_policies.levels]]`."""

    calendar: Code | None = None


class WebhookSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`[[webhooks]]`: an endpoint, matched by `url`. Its signing secret is never written
    in the file: `secret_env` names the environment variable holding it, read only when
    the endpoint is created (change a secret with `PATCH /api/v1/webhooks/{id}`)."""

    url: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
    events: list[str]
    description: Annotated[str, msgspec.Meta(max_length=200)] = ""
    active: bool = True
    secret_env: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] | None = None


class TenantSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """The whole file. A section left out (None) is not managed by the file."""

    tenant: TenantSection
    profile: ProfileSection | None = None
    severities: list[SeveritySpec] | None = None
    departments: list[DepartmentSpec] | None = None
    categories: list[CategorySpec] | None = None
    channels: list[ItemSpec] | None = None
    demand_types: list[ItemSpec] | None = None
    users: list[UserSpec] | None = None
    plugins: dict[str, PluginSpec] | None = None
    calendars: list[CalendarCreate] | None = None
    sla_policies: list[PolicySpec] | None = None
    templates: list[TemplateCreate] | None = None
    webhooks: list[WebhookSpec] | None = None


@dataclasses.dataclass
class TenantFile:
    """A parsed and checked tenant file, with what is needed to point into its text."""

    spec: TenantSpec
    source: str
    lines: KeyLines

    def error(self, path: str, message: str) -> TenantFileError:
        """An error at `path` (`categories[3].parent`), located in the file."""
        return TenantFileError(self.source, self.lines.find(_split_path(path)), path, message)


LIST_SECTIONS = ("severities", "departments", "categories", "channels", "demand_types")


# ---- where each key is ------------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _key_parts(text: str) -> list[str]:
    return [
        part.strip().strip("\"'")
        for part in re.split(r"\.(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", text)
    ]


@dataclasses.dataclass
class KeyLines:
    """The line of every table header and `key =` in a TOML text, by path
    (`("categories", 3, "parent")`). Arrays of tables count their entries from 0."""

    lines: dict[tuple[str | int, ...], int]

    @classmethod
    def scan(cls, text: str) -> KeyLines:
        found: dict[tuple[str | int, ...], int] = {}
        counters: dict[tuple[str | int, ...], int] = {}
        table: tuple[str | int, ...] = ()
        in_multiline: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            header = _HEADER.match(line)
            if header and "=" not in line.split("]")[0]:
                table = cls._table(header.group(1), _key_parts(header.group(2)), table, counters)
                found.setdefault(table, number)
                continue
            key = _KEY.match(line)
            if key:
                found.setdefault((*table, *_key_parts(key.group(1))), number)
                for quote in ('"""', "'''"):
                    if line.count(quote) % 2 == 1:
                        in_multiline = quote
        return cls(found)

    @staticmethod
    def _table(
        bracket: str,
        parts: list[str],
        current: tuple[str | int, ...],
        counters: dict[tuple[str | int, ...], int],
    ) -> tuple[str | int, ...]:
        # A table under an item of an array of tables (`[sla_policies.targets]`,
        # `[[sla_policies.levels]]`) belongs to that array's latest item; arrays of
        # tables count their items per enclosing item.
        path: list[str | int] = []
        for index, part in enumerate(parts):
            path.append(part)
            key = tuple(path)
            if index == len(parts) - 1:
                if bracket == "[[":
                    counters[key] = counters.get(key, -1) + 1
                    path.append(counters[key])
            elif key in counters:
                path.append(counters[key])
        return tuple(path)

    def find(self, path: list[str | int]) -> int | None:
        """The line of `path`, else of its closest enclosing key or table."""
        for end in range(len(path), 0, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return parts


def _join_path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# ---- parsing and the checks that need no database ---------------------------------------

_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")
_MSGSPEC_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD_NAMED = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def parse_tenant_file(path: Path | str, *, text: str | None = None) -> TenantFile:
    """Read and check a tenant file; raise `TenantFileError` naming the line and field."""
    source = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TenantFileError(source, None, "-", f"cannot read the file: {exc}") from None
    lines = KeyLines.scan(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(source, text, lines, exc) from None
    plugins = data.get("plugins")
    if isinstance(plugins, dict):  # msgspec names no key of a table of tables (`[...]`)
        for name, table in plugins.items():
            _convert(table, PluginSpec, source, lines, ["plugins", name])
    spec: TenantSpec = _convert(data, TenantSpec, source, lines, [])
    loaded = TenantFile(spec, source, lines)
    _check(loaded)
    return loaded


def _convert(
    data: Any, kind: type[Any], source: str, lines: KeyLines, prefix: list[str | int]
) -> Any:
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        match = _MSGSPEC_AT.match(str(exc))
        assert match is not None
        message, where = match["message"], [*prefix, *_split_path(match["path"] or "")]
        named = _FIELD_NAMED.search(message)
        if named:
            where.append(named.group(1))
        field = _join_path(where) or "-"
        raise TenantFileError(source, lines.find(where), field, message) from None


def _syntax_error(
    source: str, text: str, lines: KeyLines, exc: tomllib.TOMLDecodeError
) -> TenantFileError:
    match = _TOML_LINE.search(str(exc))
    line = int(match.group(1)) if match else None
    field = "-"
    if line is not None:
        text_lines = text.splitlines()
        raw = text_lines[line - 1] if line <= len(text_lines) else ""
        key = _KEY.match(raw)
        if key:
            field = ".".join(_key_parts(key.group(1)))
        else:  # the last table header at or above the line
            for earlier in range(line, 0, -1):
                header = _HEADER.match(
                    text_lines[earlier - 1] if earlier <= len(text_lines) else ""
                )
                if header:
                    field = header.group(2).strip()
                    break
    message = _TOML_LINE.sub("", str(exc)).strip()
    return TenantFileError(source, line, field, f"TOML syntax error: {message}")


def _check(file: TenantFile) -> None:
    spec, error = file.spec, file.error
    if spec.tenant.locale not in LOCALES:
        raise error("tenant.locale", f"locale must be one of {', '.join(LOCALES)}")
    if (
        spec.tenant.timezone == "localtime"
        or spec.tenant.timezone not in zoneinfo.available_timezones()
    ):
        raise error(
            "tenant.timezone", f"unknown time zone {spec.tenant.timezone!r}; use an IANA name"
        )
    if spec.profile is not None:
        values = {
            name: msgspec.to_builtins(value)
            for name in spec.profile.__struct_fields__
            if (value := getattr(spec.profile, name)) is not UNSET
        }
        try:
            check_profile(values)
        except UnprocessableEntity as exc:
            field = exc.fields[0]
            message = exc.message.removeprefix(f"{field}: ")
            raise error(f"profile.{field}", message) from None
    for section in LIST_SECTIONS:
        items = getattr(spec, section)
        if items is None:
            continue
        _check_unique(file, section, "code", [item.code for item in items])
        for index, item in enumerate(items):
            if not item.name_zh and not item.name_en:
                raise error(f"{section}[{index}].name_zh", "give name_zh or name_en (or both)")
    if spec.severities is not None:
        _check_unique(file, "severities", "rank", [s.rank for s in spec.severities])
        if not any(s.active for s in spec.severities):
            raise error("severities", "at least one severity level must be active")
    for section in ("departments", "categories"):
        items = getattr(spec, section)
        if items is not None:
            _check_tree(file, section, items)
    for index, category in enumerate(spec.categories or []):
        if category.kind is not None and category.kind not in CASE_KINDS:
            raise error(f"categories[{index}].kind", f"kind must be one of {', '.join(CASE_KINDS)}")
    if spec.users is not None:
        _check_users(file)
    _check_operations(file)


def _check_operations(file: TenantFile) -> None:
    """Keys unique within their section; a policy names its calendar by code only."""
    spec, error = file.spec, file.error
    for section in ("calendars", "sla_policies"):
        items = getattr(spec, section)
        if items is not None:
            _check_unique(file, section, "code", [item.code for item in items])
    if spec.templates is not None:
        keys = [f"{t.event}/{t.channel}/{t.locale}" for t in spec.templates]
        _check_unique(file, "templates", "event", keys)
    if spec.webhooks is not None:
        _check_unique(file, "webhooks", "url", [w.url.strip() for w in spec.webhooks])
    for index, policy in enumerate(spec.sla_policies or []):
        if policy.calendar_id is not None:
            raise error(
                f"sla_policies[{index}].calendar_id",
                'name the calendar by its code: calendar = "<code>"',
            )


def _check_unique(file: TenantFile, section: str, key: str, values: list[Any]) -> None:
    error = file.error
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise error(f"{section}[{index}].{key}", f"{key} {value!r} appears twice in {section}")
        seen.add(value)


def _check_tree(file: TenantFile, section: str, items: list[Any]) -> None:
    error = file.error
    parents = {item.code: item.parent for item in items}
    for index, item in enumerate(items):
        if item.parent is None:
            continue
        if item.parent not in parents:
            raise error(f"{section}[{index}].parent", f"unknown parent code {item.parent!r}")
        seen, current = {item.code}, item.parent
        while current is not None:
            if current in seen:
                raise error(f"{section}[{index}].parent", f"parent {item.parent!r} makes a cycle")
            seen.add(current)
            current = parents[current]


def _check_users(file: TenantFile) -> None:
    error, users = file.error, file.spec.users or []
    _check_unique(file, "users", "email", [u.email.strip().lower() for u in users])
    permissions = {p.value for p in Permission}
    for index, user in enumerate(users):
        at = f"users[{index}]"
        if "@" not in user.email:
            raise error(f"{at}.email", "email is not an e-mail address")
        if not user.roles or set(user.roles) - set(ROLES):
            raise error(f"{at}.roles", f"roles must be a non-empty list of {', '.join(ROLES)}")
        if set(user.permissions) - permissions:
            raise error(f"{at}.permissions", f"permissions are {', '.join(sorted(permissions))}")
        if user.password is not None and user.password_env is not None:
            raise error(f"{at}.password_env", "give password or password_env, not both")
        if user.password is not None and len(user.password) < MIN_PASSWORD:
            raise error(f"{at}.password", f"a password needs at least {MIN_PASSWORD} characters")
    if not any(user.active and "admin" in user.roles for user in users):
        raise error("users", "the users must include at least one active admin")
