"""A tenant's plugin setup: list the installed plugins with this tenant's choices, and
change them (admins; the controller checks). Every change is audited in its
transaction; secret settings never reach the audit trail or a response (only their
names, as `secrets_changed`), and are stored encrypted under the tenant's data key.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import diff, jsonable
from closeloop.cases.models import Case
from closeloop.crud import Service
from closeloop.db import bound_tenant, new_id, utcnow
from closeloop.errors import NotFound, UnprocessableEntity
from closeloop.pii.cipher import cipher_for
from closeloop.plugins.calling import load_settings, settings_schema
from closeloop.plugins.findings import findings_of
from closeloop.plugins.manager import InstalledPlugin, PluginManager, plugin_manager
from closeloop.plugins.models import CaseFinding, TenantPlugin
from closeloop.plugins.schemas import SECRET_MASK, PluginRead, PluginUpdate
from closeloop.plugins.tenant import decrypt_settings, encrypt_settings, is_encrypted
from closeloop.settings import Settings

__all__ = ["PluginAdminService"]

_PATH = re.compile(r"at `\$\.([^`]+)`")


def _settings_problem(exc: msgspec.ValidationError) -> UnprocessableEntity:
    """A Settings validation error as 422 naming `settings.<field>`."""
    text = str(exc)
    match = _PATH.search(text)
    field = f"settings.{match.group(1)}" if match else "settings"
    if not match and "missing required field" in text:
        missing = re.search(r"`([^`]+)`", text)
        field = f"settings.{missing.group(1)}" if missing else field
    return UnprocessableEntity(f"{field}: {text}", field=field)


class PluginAdminService(Service):
    settings: Settings

    def __init__(
        self,
        session: AsyncSession,
        *,
        actor: str,
        settings: Settings,
        manager: PluginManager | None = None,
    ) -> None:
        super().__init__(session, actor=actor, settings=settings)
        self.manager = manager or plugin_manager()

    def _tenant(self) -> uuid.UUID:
        tenant_id = bound_tenant(self.session)
        assert tenant_id is not None, "plugin settings need a tenant-bound session"
        return tenant_id

    def _installed(self, name: str) -> InstalledPlugin:
        installed = self.manager.get(name)
        if installed is None:
            raise NotFound(f"no plugin named {name!r} is installed")
        return installed

    async def _rows(self) -> dict[str, TenantPlugin]:
        return {r.plugin: r for r in (await self.session.scalars(select(TenantPlugin))).all()}

    async def installed(self) -> list[PluginRead]:
        rows = await self._rows()
        return [self._read(p, rows.get(p.name)) for p in self.manager.installed()]

    async def get(self, name: str) -> PluginRead:
        installed = self._installed(name)
        return self._read(installed, (await self._rows()).get(name))

    def _read(self, installed: InstalledPlugin, row: TenantPlugin | None) -> PluginRead:
        stored = dict(row.settings) if row is not None else {}
        secrets = installed.meta.secret_fields
        shown, error = self._shown_settings(installed, stored)
        return PluginRead(
            name=installed.name,
            version=installed.version,
            description=installed.meta.description,
            builtin=installed.origin == "builtin",
            hooks=list(installed.hooks),
            settings_schema=settings_schema(installed.meta),
            secret_fields=list(secrets),
            enabled=row.enabled if row is not None else installed.enabled_by_default,
            configured=row is not None,
            settings=shown,
            failure_threshold=row.failure_threshold if row else None,
            time_budget_ms=row.time_budget_ms if row else None,
            consecutive_failures=row.consecutive_failures if row else 0,
            last_error=row.last_error if row else None,
            disabled_reason=row.disabled_reason if row else None,
            disabled_at=row.disabled_at if row else None,
            settings_error=error,
        )

    @staticmethod
    def _shown_settings(
        installed: InstalledPlugin, stored: dict[str, Any]
    ) -> tuple[dict[str, Any], str | None]:
        """The effective settings with secrets masked (never decrypted here)."""
        secrets = set(installed.meta.secret_fields)
        plain = {k: v for k, v in stored.items() if k not in secrets}
        error = None
        try:
            effective: dict[str, Any] = msgspec.to_builtins(load_settings(installed.meta, plain))
        except (msgspec.ValidationError, ValueError) as exc:
            effective, error = dict(plain), str(exc)
        for name in secrets:
            if stored.get(name) not in (None, ""):
                effective[name] = SECRET_MASK
        return effective, error

    async def update(self, name: str, data: PluginUpdate) -> PluginRead:
        installed = self._installed(name)
        row = (await self._rows()).get(name)
        before = self._audit_shape(installed, row)
        if row is None:
            row = TenantPlugin(
                tenant_id=self._tenant(),
                id=new_id(),
                plugin=name,
                enabled=installed.enabled_by_default,
                settings={},
                consecutive_failures=0,
            )
            self.session.add(row)
        changed_secrets: list[str] = []
        if not isinstance(data.settings, msgspec.UnsetType):
            row.settings, changed_secrets = await self._new_settings(installed, row, data.settings)
        if not isinstance(data.failure_threshold, msgspec.UnsetType):
            row.failure_threshold = data.failure_threshold
        if not isinstance(data.time_budget_ms, msgspec.UnsetType):
            row.time_budget_ms = data.time_budget_ms
        if not isinstance(data.enabled, msgspec.UnsetType):
            if data.enabled:
                row.consecutive_failures = 0
                row.last_error = row.disabled_reason = row.disabled_at = None
            row.enabled = data.enabled
        row.updated_at = utcnow()
        await self.session.flush()
        old, new = diff(before, self._audit_shape(installed, row))
        if new or changed_secrets:
            await self.record(
                "plugin.update",
                "plugin",
                row.id,
                before={"plugin": name, **old},
                after={
                    "plugin": name,
                    **new,
                    **({"secrets_changed": changed_secrets} if changed_secrets else {}),
                },
            )
        return self._read(installed, row)

    async def _new_settings(
        self, installed: InstalledPlugin, row: TenantPlugin, given: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """Validated settings as stored, and the secrets that changed. Secrets left out
        or sent as "***" keep their stored value."""
        meta = installed.meta
        secrets = meta.secret_fields
        if meta.settings_type is not None:
            known = set(meta.settings_type.__struct_fields__)
            for key in given:
                if key not in known:
                    raise UnprocessableEntity(
                        f"settings.{key}: {installed.name} has no such setting; "
                        f"its settings are {', '.join(sorted(known)) or '(none)'}",
                        field=f"settings.{key}",
                    )
        stored = dict(row.settings or {})
        cipher = None
        if any(is_encrypted(v) for v in stored.values()) or any(
            given.get(s) not in (None, SECRET_MASK) for s in secrets if s in given
        ):
            cipher = await cipher_for(self.session, self.settings)
        current = decrypt_settings(stored, cipher)
        merged = dict(given)
        changed = []
        for name in secrets:
            if name not in given or given[name] == SECRET_MASK:
                if name in current:
                    merged[name] = current[name]
                else:
                    merged.pop(name, None)
            elif given[name] is None:  # cleared: the default applies
                merged.pop(name)
                if current.get(name) is not None:
                    changed.append(name)
            elif given[name] != current.get(name):
                changed.append(name)
        try:
            checked = load_settings(meta, merged)
        except msgspec.ValidationError as exc:
            raise _settings_problem(exc) from None
        values = (
            {k: v for k, v in msgspec.to_builtins(checked).items() if k in merged}
            if meta.settings_type is not None
            else jsonable(merged)
        )
        if cipher is None and any(values.get(s) is not None for s in secrets):
            cipher = await cipher_for(self.session, self.settings)
        stored_values = encrypt_settings(values, secrets, cipher) if cipher else values
        return stored_values, changed

    @staticmethod
    def _audit_shape(installed: InstalledPlugin, row: TenantPlugin | None) -> dict[str, Any]:
        if row is None:
            return {"enabled": installed.enabled_by_default}
        secrets = set(installed.meta.secret_fields)
        return {
            "enabled": row.enabled,
            "settings": {k: v for k, v in (row.settings or {}).items() if k not in secrets},
            "failure_threshold": row.failure_threshold,
            "time_budget_ms": row.time_budget_ms,
        }

    async def findings(self, case_id: uuid.UUID) -> list[CaseFinding]:
        if await self.session.get(Case, (self._tenant(), case_id)) is None:
            raise NotFound("no such case")
        return list(await findings_of(self.session, case_id))
