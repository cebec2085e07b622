"""Exporting a tenant as a tenant file, in the layout people write by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec
import tomli_w
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable
from closeloop.config._file_ops import export_operations
from closeloop.config._file_plan import TENANT_FIELDS, load_state
from closeloop.config._file_plugins import export_plugins
from closeloop.config.models import CASE_KINDS, TenantProfile
from closeloop.config.schemas import SatisfactionLevel, ScriptStep
from closeloop.config.service import PROFILE_FIELDS, ProfileService, profile_snapshot
from closeloop.db import tenant_scope
from closeloop.tenancy.service import TenantService

__all__ = ["dump_toml", "export_tenant"]

EXPORT_HEADER = (
    "# Written by `closeloop tenants export`; apply it with `closeloop tenants apply`.\n"
    "# Users carry no passwords: add `password` or `password_env` to create them elsewhere;\n"
    "# webhooks carry no secrets: add `secret_env` to create them elsewhere.\n\n"
)


def _without_defaults(view: dict[str, Any], index: int) -> dict[str, Any]:
    out = {name: value for name, value in view.items() if value is not None}
    if out.get("active") is True:
        del out["active"]
    if out.get("position") == index + 1:
        del out["position"]
    if out.get("permissions") == []:
        del out["permissions"]
    return out


def _profile(profile: TenantProfile) -> dict[str, Any]:
    """The profile with keys in the order people write them (JSONB sorts them by length)."""
    values = jsonable(profile_snapshot(profile))
    patterns = values["number_patterns"]
    order = [kind for kind in ("default", *CASE_KINDS) if kind in patterns]
    values["number_patterns"] = {kind: patterns[kind] for kind in order}
    values["satisfaction_scale"] = msgspec.to_builtins(
        msgspec.convert(values["satisfaction_scale"], list[SatisfactionLevel])
    )
    values["followup_script"] = msgspec.to_builtins(
        msgspec.convert(values["followup_script"], list[ScriptStep])
    )
    return {name: values[name] for name in PROFILE_FIELDS}


def _ordered(rows: Iterable[Any]) -> list[Any]:
    return sorted(rows, key=lambda row: (row.position, row.code))


async def export_tenant(session: AsyncSession, slug: str) -> str:
    """The tenant's configuration as a tenant file (TOML)."""
    tenant = await TenantService(session).by_slug(slug)
    await tenant_scope(session, tenant.id)
    state = await load_state(session)
    document: dict[str, Any] = {
        "tenant": {"slug": tenant.slug, **{name: getattr(tenant, name) for name in TENANT_FIELDS}},
        "profile": _profile(await ProfileService(session, actor="export").get()),
    }
    for section in ("severities", "departments", "categories", "channels", "demand_types"):
        document[section] = [
            {"code": row.code, **_without_defaults(state.item_view(section, row), index)}
            for index, row in enumerate(_ordered(state.rows[section].values()))
        ]
    document["users"] = [
        {"email": email, **_without_defaults(state.user_view(user), -2)}
        for email, user in sorted(state.users.items())
    ]
    if plugins := await export_plugins(session):
        document["plugins"] = plugins
    document.update(await export_operations(session))
    return EXPORT_HEADER + dump_toml(document)


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dump_toml(document: dict[str, Any]) -> str:
    """TOML the way people write tenant files: `[[categories]]` blocks, one key a line,
    short arrays inline (tomli-w renders each value; its own layout inlines arrays of
    tables, which would leave errors in an exported file without a useful line)."""
    out: list[str] = []

    def table(path: list[str], values: dict[str, Any], array: bool) -> None:
        # TOML has no null: a key whose value is null is left out (read back, it takes
        # its default, which is what a null setting means).
        values = {name: value for name, value in values.items() if value is not None}
        only_tables = bool(values) and all(
            isinstance(v, dict) or _is_table_list(v) for v in values.values()
        )
        if path and (array or not only_tables):  # a table of tables needs no header
            header = ".".join(_key(p) for p in path)
            out.append(f"\n[[{header}]]" if array else f"\n[{header}]")
        nested = []
        for name, value in values.items():
            if isinstance(value, dict) or _is_table_list(value):
                nested.append((name, value))
            else:
                out.append(f"{_key(name)} = {_value(value)}")
        for name, value in nested:
            if isinstance(value, dict):
                table([*path, name], value, False)
            else:
                for item in value:
                    table([*path, name], item, True)

    table([], document, False)
    return "\n".join(out).lstrip("\n") + "\n"
