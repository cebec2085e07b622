"""The plugins one tenant has switched on, and calling their hooks.

`TenantPlugins.load(session, settings)` reads the bound tenant's `tenant_plugins` rows
once; `call(hook, **arguments)` asks every enabled plugin implementing `hook`,
each separately (concurrently, one thread each) within its time budget, and answers
one `Outcome` per plugin: ok with the converted result, or failed with the reason.
Nothing here writes; `closeloop.plugins.findings.settle` stores the outcomes.

A plugin not enabled for the tenant is never called: it is not in `active`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import time
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config import current
from closeloop.db import TenantNotBound, bound_tenant
from closeloop.logs import get_logger
from closeloop.pii.cipher import TenantCipher, cipher_for
from closeloop.plugins.calling import (
    PluginFailure,
    call_async,
    hook_argnames,
    load_settings,
    select_kwargs,
)
from closeloop.plugins.manager import InstalledPlugin, PluginManager, plugin_manager
from closeloop.plugins.models import FindingStatus, TenantPlugin
from closeloop.plugins.types import SeverityLevel, TenantInfo
from closeloop.settings import Settings

__all__ = [
    "ENCRYPTED",
    "ActivePlugin",
    "Outcome",
    "TenantPlugins",
    "decrypt_settings",
    "enabled_plugin_names",
    "encrypt_settings",
    "tenant_info",
]

log = get_logger(__name__)
current.watch(TenantPlugin)

ENCRYPTED = "$encrypted"  # a stored secret setting: {"$encrypted": "<base64>"}


def encrypt_settings(
    values: Mapping[str, Any], secret_fields: tuple[str, ...], cipher: TenantCipher
) -> dict[str, Any]:
    """`values` as stored: each secret field's value (JSON) encrypted under the tenant key."""
    stored = dict(values)
    for name in secret_fields:
        if name in stored and stored[name] is not None:
            blob = cipher.encrypt(json.dumps(stored[name], ensure_ascii=False))
            stored[name] = {ENCRYPTED: base64.b64encode(blob).decode()}
    return stored


def is_encrypted(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {ENCRYPTED}


def decrypt_settings(stored: Mapping[str, Any], cipher: TenantCipher | None) -> dict[str, Any]:
    values = dict(stored)
    for name, value in stored.items():
        if is_encrypted(value):
            assert cipher is not None
            values[name] = json.loads(cipher.decrypt(base64.b64decode(value[ENCRYPTED])))
    return values


def _is_enabled(installed: InstalledPlugin, row: TenantPlugin | None) -> bool:
    return row.enabled if row is not None else installed.enabled_by_default


async def enabled_plugin_names(
    session: AsyncSession, *, hook: str | None = None, manager: PluginManager | None = None
) -> list[str]:
    """The plugins enabled for the bound tenant (implementing `hook`, when given); reads
    the tenant's rows only, no settings are decrypted."""
    manager = manager or plugin_manager()
    rows = {row.plugin: row for row in await tenant_plugin_rows(session)}
    return [
        p.name
        for p in manager.installed()
        if _is_enabled(p, rows.get(p.name)) and (hook is None or hook in p.hooks)
    ]


async def tenant_plugin_rows(session: AsyncSession) -> list[TenantPlugin]:
    """The bound tenant's plugin rows (cached per process by `closeloop.config.current`)."""

    async def load() -> list[TenantPlugin]:
        return list((await session.scalars(select(TenantPlugin))).all())

    return await current.shared(session, "tenant_plugins", load)


async def tenant_info(session: AsyncSession) -> TenantInfo:
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise TenantNotBound("plugins are called for a tenant; bind one first")
    tenant = await current.tenant(session)
    severities = await current.severities(session)
    return TenantInfo(
        id=tenant.id,
        slug=tenant.slug,
        locale=tenant.locale,
        timezone=tenant.timezone,
        severities=[SeverityLevel(code=s.code, rank=s.rank, name=s.name_en) for s in severities],
    )


@dataclasses.dataclass
class ActivePlugin:
    """An enabled plugin with this tenant's settings (or why they are unusable)."""

    installed: InstalledPlugin
    row: TenantPlugin | None
    settings: Any
    settings_error: str | None
    time_budget: float
    failure_threshold: int

    @property
    def name(self) -> str:
        return self.installed.name


@dataclasses.dataclass
class Outcome:
    """One plugin's answer to one hook call."""

    plugin: str
    version: str
    hook: str
    status: Literal["ok", "failed"]
    result: Any = None
    error: str | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status == FindingStatus.OK

    def result_json(self) -> Any:
        return None if self.result is None else msgspec.to_builtins(self.result)


@dataclasses.dataclass
class TenantPlugins:
    """The bound tenant's enabled plugins, loaded once for one transaction's work."""

    session: AsyncSession
    tenant: TenantInfo
    active: list[ActivePlugin]
    manager: PluginManager

    @classmethod
    async def load(
        cls, session: AsyncSession, settings: Settings, *, manager: PluginManager | None = None
    ) -> TenantPlugins:
        manager = manager or plugin_manager()
        rows = {row.plugin: row for row in await tenant_plugin_rows(session)}
        enabled = [p for p in manager.installed() if _is_enabled(p, rows.get(p.name))]
        if not enabled:
            return cls(session, await tenant_info(session), [], manager)
        cipher: TenantCipher | None = None
        active = []
        for installed in enabled:
            row = rows.get(installed.name)
            stored = row.settings if row is not None else {}
            if cipher is None and any(is_encrypted(v) for v in stored.values()):
                cipher = await cipher_for(session, settings)
            loaded, error = None, None
            try:
                loaded = load_settings(installed.meta, decrypt_settings(stored, cipher))
            except (msgspec.ValidationError, ValueError) as exc:
                error = f"invalid_settings: {exc}"
            budget_ms = (row.time_budget_ms if row else None) or settings.plugin_time_budget_ms
            threshold = (
                row.failure_threshold if row else None
            ) or settings.plugin_failure_threshold
            active.append(ActivePlugin(installed, row, loaded, error, budget_ms / 1000, threshold))
        return cls(session, await tenant_info(session), active, manager)

    def implementing(self, hook: str) -> list[ActivePlugin]:
        return [a for a in self.active if hook in a.installed.hooks]

    def get(self, name: str) -> ActivePlugin | None:
        return next((a for a in self.active if a.name == name), None)

    async def call(self, hook: str, **arguments: Any) -> list[Outcome]:
        """Ask every enabled plugin implementing `hook`; one outcome each, in plugin order."""
        return list(
            await asyncio.gather(
                *(self.call_one(a, hook, **arguments) for a in self.implementing(hook))
            )
        )

    async def call_one(self, active: ActivePlugin, hook: str, **arguments: Any) -> Outcome:
        installed = active.installed
        outcome = Outcome(plugin=installed.name, version=installed.version, hook=hook, status="ok")
        if active.settings_error is not None:
            return self._failed(outcome, active.settings_error, 0)
        found = self.manager.implementation(installed.name, hook)
        impl = found.function if found is not None else getattr(installed.plugin, hook)
        offered = {
            **arguments,
            "settings": active.settings,
            "tenant_settings": active.settings,
            "tenant": self.tenant,
        }
        names = hook_argnames(hook)
        kwargs = select_kwargs(impl, {k: v for k, v in offered.items() if k in names})
        started = time.monotonic()
        try:
            outcome.result = await call_async(impl, hook, kwargs, time_budget=active.time_budget)
        except PluginFailure as failure:
            return self._failed(outcome, str(failure), _ms(started))
        outcome.duration_ms = _ms(started)
        return outcome

    def _failed(self, outcome: Outcome, error: str, duration_ms: int) -> Outcome:
        outcome.status = "failed"
        outcome.error = error[:2000]
        outcome.duration_ms = duration_ms
        log.warning(
            "plugin call failed",
            plugin=outcome.plugin,
            plugin_version=outcome.version,
            hook=outcome.hook,
            error=outcome.error,
            duration_ms=duration_ms,
        )
        return outcome


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def tenant_id_of(session: AsyncSession) -> uuid.UUID:
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise TenantNotBound("plugins belong to a tenant; bind one first")
    return tenant_id
