"""Tenants as files: `closeloop tenants apply FILE` and `closeloop tenants export SLUG`.

`tenants/<slug>.toml` describes a tenant's whole configuration: the tenant itself, its
profile, severity levels, departments, categories, channels, demand types, users, the
industry plugins it runs (`[plugins.<name>]`, see `_file_plugins`), and its business
calendars, SLA policies with their escalation ladders, notification templates and
webhook endpoints (see `_file_ops`).

* `apply_tenant_file()` creates the tenant if it is missing, else brings it to the
  file: it plans a change set (added, changed, deactivated items) against what is
  stored, then writes it in the caller's transaction, auditing every change. With
  nothing to change it writes nothing and reports "no changes".
* A list section in the file is the whole list: a stored item the file does not
  name is deactivated (never deleted: cases refer to it). A section the file leaves
  out is left as it is (a new tenant keeps its defaults there).
* Users are matched by e-mail; their password (`password`, or `password_env` naming
  an environment variable) is only used to create them, never to reset one.
* `export_tenant()` writes the same format (users without passwords), such that
  applying the export changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.config._file_export import dump_toml, export_tenant
from closeloop.config._file_format import TenantFile, TenantFileError, parse_tenant_file
from closeloop.config._file_ops import plan_operations, write_operations
from closeloop.config._file_plan import SECTIONS, Change, State, load_state, make_plan
from closeloop.config._file_plugins import plan_plugins, write_plugins
from closeloop.config._file_write import Writer, update_tenant
from closeloop.config.service import ProfileService
from closeloop.db import tenant_scope
from closeloop.settings import Settings
from closeloop.tenancy.models import Tenant
from closeloop.tenancy.service import TenantService

__all__ = [
    "Change",
    "ChangeSet",
    "TenantFile",
    "TenantFileError",
    "apply_tenant_file",
    "dump_toml",
    "export_tenant",
    "load_tenant_file",
]


_APPLY_LOCK_CLASS = 0x544E4654  # "TNFT": advisory lock namespace of tenant file applies


def load_tenant_file(path: Path | str, *, text: str | None = None) -> TenantFile:
    """Parse and check a tenant file; `TenantFileError` names the line and field."""
    return parse_tenant_file(path, text=text)


@dataclasses.dataclass
class ChangeSet:
    slug: str
    created: bool
    changes: list[Change]
    applied: bool = False

    def __bool__(self) -> bool:
        return bool(self.changes)

    def count(self, op: str) -> int:
        return sum(1 for change in self.changes if change.op == op)

    def summary(self) -> str:
        if not self.changes:
            return f"tenant {self.slug}: no changes"
        head = "created" if self.created else "updated"
        if not self.applied:
            head = "would be " + head
        counts = (
            f"{self.count('add')} added, {self.count('change')} changed, "
            f"{self.count('deactivate')} deactivated"
        )
        return f"tenant {self.slug}: {head}; {counts}"

    def report(self) -> str:
        return "\n".join([self.summary(), *(f"  {c.describe()}" for c in self.changes)])


async def apply_tenant_file(
    session: AsyncSession,
    file: TenantFile,
    *,
    env: Mapping[str, str] | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
) -> ChangeSet:
    """Bring the tenant to `file` in the session's transaction; return what changed.

    Nothing is written when there is nothing to change or `dry_run` is set. A
    `TenantFileError` leaves the transaction to be rolled back by the caller.
    `settings` (the server's) are needed only when the file changes a plugin's setup:
    plugin settings go through the plugins' admin service, which may need the
    tenant's data key.
    """
    spec = file.spec
    actor = f"tenants-apply:{Path(file.source).name}"
    if not dry_run:  # two applies of one tenant run one after the other, not interleaved
        lock = func.pg_advisory_xact_lock(_APPLY_LOCK_CLASS, func.hashtext(spec.tenant.slug))
        await session.execute(select(lock))
    tenant = await session.scalar(select(Tenant).where(Tenant.slug == spec.tenant.slug))
    if tenant is not None:
        await tenant_scope(session, tenant.id)
        state = await load_state(session)
    else:
        state = State({section: {} for section in SECTIONS}, {}, None)
    plan = make_plan(file, state, tenant, env or {})
    plugins = await plan_plugins(session, file, stored=tenant is not None)
    operations = await plan_operations(session, file, tenant, env or {})
    result = ChangeSet(
        spec.tenant.slug, tenant is None, [*plan.changes, *plugins.changes, *operations.changes]
    )
    if dry_run or not result.changes:
        return result
    if plugins.updates and settings is None:
        raise ValueError("applying a file's [plugins] needs the server's settings")

    if tenant is None:
        tenant = await TenantService(session, actor=actor).create(
            slug=spec.tenant.slug, **plan.tenant
        )
        for section in reversed(SECTIONS):  # defaults of the sections the file defines go
            if getattr(spec, section) is not None:
                await session.execute(delete(SECTIONS[section].model))
        state = await load_state(session)
    else:
        await update_tenant(session, tenant, plan.tenant, actor)
    writer = Writer(session, tenant.id, actor, state)
    await writer.items("departments", plan.items["departments"], defer_manager=True)
    await writer.users(plan.users, plan.passwords)
    await writer.managers(plan.items["departments"])
    for section in ("categories", "severities", "channels", "demand_types"):
        await writer.items(section, plan.items[section])
    if operations:
        await write_operations(session, file, tenant, env or {}, settings, actor)
    if plan.profile:
        await ProfileService(session, actor=actor).update(plan.profile)
    if plugins.updates:
        assert settings is not None
        await write_plugins(session, plugins, actor=actor, settings=settings)
    result.applied = True
    return result
