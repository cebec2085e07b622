"""HTTP for plugins: the installed plugins and this tenant's setup of them, and a case's
findings. Every staff role reads; only admins change a plugin's setup."""

from __future__ import annotations

import uuid

from litestar import Controller, get, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from closeloop.crud import read_as
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role
from closeloop.plugins.admin import PluginAdminService
from closeloop.plugins.deps import provide_plugin_admin
from closeloop.plugins.models import CaseFinding
from closeloop.plugins.schemas import FindingRead, PluginRead, PluginUpdate
from closeloop.web.deps import Caller

__all__ = ["PLUGIN_CONTROLLERS", "PluginController"]

Plugins = NamedDependency[PluginAdminService]


def finding_read(finding: CaseFinding) -> FindingRead:
    return read_as(FindingRead, finding, notes=dict(finding.notes or {}))


class PluginController(Controller):
    """The installed plugins, this tenant's setup of them, and what they found on a case."""

    path = "/api/v1"
    tags = ("plugins",)
    opt = access(*ALL_ROLES)
    dependencies = {"plugins": Provide(provide_plugin_admin, sync_to_thread=False)}

    @get("/plugins")
    async def list_plugins(self, principal: Caller, plugins: Plugins) -> list[PluginRead]:
        """Installed plugins (name, version, description, settings JSON schema, hooks) with
        this tenant's setup: enabled, settings (secrets shown as `"***"`), failure state."""
        return await plugins.installed()

    @get("/plugins/{plugin_name:str}")
    async def get_plugin(
        self,
        principal: Caller,
        plugins: Plugins,
        plugin_name: FromPath[str],
    ) -> PluginRead:
        return await plugins.get(plugin_name)

    @put("/plugins/{plugin_name:str}", opt=access(Role.ADMIN))
    async def update_plugin(
        self,
        principal: Caller,
        plugins: Plugins,
        plugin_name: FromPath[str],
        data: JSONBody[PluginUpdate],
    ) -> PluginRead:
        """Admins: enable or disable the plugin for this tenant and set its settings
        (validated against its `Settings`: 422 naming `settings.<field>`). Secrets are
        write-only: left out or sent as `"***"` they keep their value. Enabling resets
        the failure count."""
        return await plugins.update(plugin_name, data)

    @get("/cases/{case_id:uuid}/findings")
    async def list_case_findings(
        self,
        principal: Caller,
        plugins: Plugins,
        case_id: FromPath[uuid.UUID],
    ) -> list[FindingRead]:
        """What the tenant's plugins said about the case (ok or failed), oldest first."""
        return [finding_read(f) for f in await plugins.findings(case_id)]


PLUGIN_CONTROLLERS = [PluginController]
