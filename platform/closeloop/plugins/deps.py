"""How to get the plugin settings service: `provide_plugin_admin`.

`PluginAdminService(session, *, actor=..., settings=...)`; the provider is a Litestar
dependency (parameters `db_session`, `principal`, `settings`) that audits changes as
the caller. Tenant files call the same constructor with their actor name.
"""

from __future__ import annotations

from closeloop.plugins.admin import PluginAdminService
from closeloop.providers import audited_as_caller

__all__ = ["provide_plugin_admin"]

provide_plugin_admin = audited_as_caller(PluginAdminService, "provide_plugin_admin")
