"""How to get the plugin settings service: `provide_plugin_admin`.

`PluginAdminService(session, *, actor=..., settings=...)`; the provider is a Litestar
dependency (parameters `db_session`, `principal`, `settings`) that audits changes as
the caller. Tenant files call the same constructor with their actor name.
"""

from __future__ import annotations

from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.identity.principal import Principal
from closeloop.plugins.admin import PluginAdminService
from closeloop.settings import Settings

__all__ = ["provide_plugin_admin"]


def provide_plugin_admin(
    db_session: NamedDependency[AsyncSession],
    principal: NamedDependency[Principal],
    settings: NamedDependency[Settings],
) -> PluginAdminService:
    """The bound tenant's plugins, changes audited as the caller."""
    return PluginAdminService(db_session, actor=principal.actor, settings=settings)
