"""The `[plugins.<name>]` tables of a tenant file: which installed plugins the tenant
runs, with which settings.

    [plugins.retail]
    enabled = true                  # default true

    [plugins.retail.settings]       # left out: the stored settings are kept
    no_reason_return_days = 7

* A plugin the file names is brought to the file: `enabled` as given; `settings`,
  when given, are the whole settings (a setting left out takes the plugin's default),
  checked against the plugin's `Settings`. Plugins the file does not name are left as
  they are (an admin may enable more through the API).
* A plugin that is not installed, or a setting the plugin does not accept, is an error
  naming `plugins.<name>...` and its line. Secret settings are never written in a file
  (they would end up in a repository): set them with `PUT /api/v1/plugins/{name}`;
  secrets stored that way are kept when the file changes the other settings.
* The writes go through `PluginAdminService`, as the API's do: validated, audited
  (`plugin.update`), failure count reset on enabling.
* Export writes every plugin the tenant has configured, without secrets.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config._file_format import TenantFile
from closeloop.config._file_plan import Change, changed_fields
from closeloop.plugins.admin import PluginAdminService
from closeloop.plugins.calling import load_settings
from closeloop.plugins.manager import InstalledPlugin, plugin_manager
from closeloop.plugins.models import TenantPlugin
from closeloop.plugins.schemas import PluginUpdate
from closeloop.settings import Settings

__all__ = ["PluginPlan", "export_plugins", "plan_plugins", "write_plugins"]


@dataclasses.dataclass
class PluginPlan:
    updates: dict[str, PluginUpdate]  # plugin name -> what to set
    changes: list[Change]


def _effective(installed: InstalledPlugin, values: dict[str, Any]) -> dict[str, Any]:
    """The settings as the plugin sees them (defaults filled in), secrets left out."""
    secrets = set(installed.meta.secret_fields)
    plain = {k: v for k, v in values.items() if k not in secrets}
    if installed.meta.settings_type is None:
        return plain
    effective: dict[str, Any] = msgspec.to_builtins(load_settings(installed.meta, plain))
    return {k: v for k, v in effective.items() if k not in secrets}


async def plan_plugins(session: AsyncSession, file: TenantFile, *, stored: bool) -> PluginPlan:
    """What applying the file's `[plugins]` changes; `stored` is False for a tenant the
    apply creates (nothing is stored yet, and no tenant is bound)."""
    wanted = file.spec.plugins or {}
    plan = PluginPlan({}, [])
    if not wanted:
        return plan
    rows: dict[str, TenantPlugin] = {}
    if stored:
        rows = {row.plugin: row for row in (await session.scalars(select(TenantPlugin))).all()}
    manager = plugin_manager()
    for name, spec in wanted.items():
        installed = manager.get(name)
        if installed is None:
            names = ", ".join(p.name for p in manager.installed()) or "(none)"
            raise file.error(
                f"plugins.{name}", f"no plugin named {name!r} is installed; installed: {names}"
            )
        row = rows.get(name)
        current_settings = dict(row.settings) if row is not None else {}
        current = {
            "enabled": row.enabled if row is not None else installed.enabled_by_default,
            "settings": _effective(installed, current_settings),
        }
        desired = {"enabled": spec.enabled, "settings": current["settings"]}
        update = PluginUpdate(enabled=spec.enabled)
        if spec.settings is not None:
            for key in spec.settings:
                if key in installed.meta.secret_fields:
                    raise file.error(
                        f"plugins.{name}.settings.{key}",
                        "a secret setting is not written in a tenant file; "
                        f"set it with PUT /api/v1/plugins/{name}",
                    )
            desired["settings"] = _checked(file, installed, spec.settings)
            update = PluginUpdate(enabled=spec.enabled, settings=dict(spec.settings))
        changed = changed_fields(current, desired)
        if row is None:
            plan.changes.append(Change("add", "plugin", name, None, desired))
        elif changed:
            before = {k: current[k] for k in changed}
            plan.changes.append(Change("change", "plugin", name, before, changed))
        else:
            continue
        plan.updates[name] = update
    return plan


def _checked(file: TenantFile, installed: InstalledPlugin, given: dict[str, Any]) -> dict[str, Any]:
    meta = installed.meta
    if meta.settings_type is not None:
        known = set(meta.settings_type.__struct_fields__)
        for key in given:
            if key not in known:
                raise file.error(
                    f"plugins.{installed.name}.settings.{key}",
                    f"{installed.name} has no such setting; its settings are "
                    f"{', '.join(sorted(known)) or '(none)'}",
                )
    try:
        return _effective(installed, given)
    except msgspec.ValidationError as exc:
        message = str(exc)
        field = f"plugins.{installed.name}.settings"
        if " - at `$." in message:
            message, at = message.split(" - at `$.", 1)
            field += "." + at.rstrip("`").split(".")[0].split("[")[0]
        raise file.error(field, message) from None


async def write_plugins(
    session: AsyncSession, plan: PluginPlan, *, actor: str, settings: Settings
) -> None:
    """Carry out the plan for the session's bound tenant (`settings`: the server's, for
    the tenant's data key when stored secrets are kept)."""
    service = PluginAdminService(session, actor=actor, settings=settings)
    for name, update in plan.updates.items():
        await service.update(name, update)


async def export_plugins(session: AsyncSession) -> dict[str, Any]:
    """Every plugin the bound tenant configured, as `[plugins.<name>]` tables, secrets left
    out; settings as stored (what was given, not the defaults)."""
    manager = plugin_manager()
    document: dict[str, Any] = {}
    rows = (await session.scalars(select(TenantPlugin).order_by(TenantPlugin.plugin))).all()
    for row in rows:
        installed = manager.get(row.plugin)
        secrets = set(installed.meta.secret_fields) if installed is not None else set()
        table: dict[str, Any] = {"enabled": row.enabled}
        values = {k: v for k, v in (row.settings or {}).items() if k not in secrets}
        if values:
            table["settings"] = values
        document[row.plugin] = table
    return document
