"""The installed plugins of this process: found once, checked against the hookspecs.

Where plugins come from, in this order:

1. `DEFAULT_PLUGINS`: modules built into Closeloop (datasette's `DEFAULT_PLUGINS`);
2. the entry-point group `closeloop.plugins`: each entry point names a module (or
   object) holding `@hookimpl` functions and `NAME`, `VERSION`, `DESCRIPTION`,
   optionally `Settings` and `SECRET_FIELDS`;
3. `register_plugin()`: code that registers a plugin object itself (tests do, through
   `registered_plugins()`).

A plugin that fails to import, or whose hooks do not match the specs (unknown hook
name, unknown argument), is left out and logged with its name; it never stops the
app. Which plugins run for a tenant is decided per tenant (`closeloop.plugins.tenant`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import threading
from collections.abc import Iterator
from typing import Any, Literal

import pluggy

from closeloop.logs import get_logger
from closeloop.plugins.calling import (
    HOOK_NAMES,
    PluginMeta,
    implementation,
    new_plugin_manager,
    plugin_meta,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "InstalledPlugin",
    "PluginManager",
    "plugin_manager",
    "register_plugin",
    "registered_plugins",
    "reset_plugin_manager",
    "unregister_plugin",
]

log = get_logger(__name__)

ENTRY_POINT_GROUP = "closeloop.plugins"

# Built-in behaviour, registered like any other plugin.
DEFAULT_PLUGINS: tuple[str, ...] = ("closeloop.plugins.builtin.intake_checks",)

Origin = Literal["builtin", "entry_point", "registered"]


@dataclasses.dataclass(frozen=True, eq=False)
class InstalledPlugin:
    """One plugin of this process. `enabled_by_default`: a tenant that never configured
    it has it on (module attribute `ENABLED_BY_DEFAULT`, built-in plugins only)."""

    meta: PluginMeta
    plugin: object
    origin: Origin
    hooks: tuple[str, ...]
    enabled_by_default: bool = False

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def version(self) -> str:
        return self.meta.version


class PluginManager:
    """A pluggy `PluginManager` with Closeloop's hookspecs plus each plugin's metadata."""

    def __init__(self) -> None:
        self.pm: pluggy.PluginManager = new_plugin_manager()
        self._installed: dict[str, InstalledPlugin] = {}
        self.load_errors: dict[str, str] = {}
        self._lock = threading.RLock()

    def register(
        self, plugin: object, *, origin: Origin = "registered", name: str | None = None
    ) -> InstalledPlugin:
        """Add `plugin`; raises ValueError for a name already taken or bad metadata, and
        `pluggy.PluginValidationError` for hooks that do not match the specs."""
        meta = plugin_meta(plugin, fallback_name=name)
        if name is not None and name != meta.name:
            log.warning(
                "plugin entry point name differs from NAME", entry_point=name, plugin=meta.name
            )
        with self._lock:
            if meta.name in self._installed:
                raise ValueError(f"a plugin named {meta.name!r} is already installed")
            self.pm.register(plugin, name=meta.name)
            hooks = tuple(h for h in HOOK_NAMES if implementation(self.pm, h, plugin) is not None)
            installed = InstalledPlugin(
                meta=meta,
                plugin=plugin,
                origin=origin,
                hooks=hooks,
                enabled_by_default=origin == "builtin"
                and bool(getattr(plugin, "ENABLED_BY_DEFAULT", False)),
            )
            self._installed[meta.name] = installed
        return installed

    def unregister(self, name: str) -> None:
        with self._lock:
            installed = self._installed.pop(name, None)
            if installed is not None:
                self.pm.unregister(installed.plugin)

    def load_builtins(self) -> None:
        for module_name in DEFAULT_PLUGINS:
            self._load(module_name, lambda m=module_name: importlib.import_module(m), "builtin")

    def load_entry_points(self) -> None:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            self._load(entry_point.name, entry_point.load, "entry_point")

    def _load(self, label: str, load: Any, origin: Origin) -> None:
        try:
            plugin = load()
            self.register(plugin, origin=origin, name=None if origin == "builtin" else label)
        except Exception as exc:  # a broken plugin must not stop the app
            self.load_errors[label] = f"{type(exc).__name__}: {exc}"
            log.error("plugin not loaded", plugin=label, error=self.load_errors[label])

    def installed(self) -> list[InstalledPlugin]:
        """Every installed plugin, by name."""
        with self._lock:
            return sorted(self._installed.values(), key=lambda p: p.name)

    def get(self, name: str) -> InstalledPlugin | None:
        return self._installed.get(name)

    def implementation(self, name: str, hook_name: str) -> Any | None:
        """The pluggy `HookImpl` of plugin `name` for `hook_name`, or None."""
        installed = self._installed.get(name)
        if installed is None or hook_name not in installed.hooks:
            return None
        return implementation(self.pm, hook_name, installed.plugin)


_manager: PluginManager | None = None
_manager_lock = threading.Lock()


def plugin_manager() -> PluginManager:
    """The process's plugins: built-in ones and the entry points, found on first use."""
    global _manager
    with _manager_lock:
        if _manager is None:
            manager = PluginManager()
            manager.load_builtins()
            manager.load_entry_points()
            log.info(
                "plugins loaded", plugins=[f"{p.name} {p.version}" for p in manager.installed()]
            )
            _manager = manager
        return _manager


def reset_plugin_manager() -> None:
    """Forget the installed plugins; the next `plugin_manager()` finds them again."""
    global _manager
    with _manager_lock:
        _manager = None


def register_plugin(plugin: object) -> InstalledPlugin:
    """Install `plugin` (a module or object with `@hookimpl` functions and `NAME`) in this
    process, as if an entry point named it."""
    return plugin_manager().register(plugin)


def unregister_plugin(name: str) -> None:
    plugin_manager().unregister(name)


@contextlib.contextmanager
def registered_plugins(*plugins: object) -> Iterator[list[InstalledPlugin]]:
    """Install `plugins` for the duration of the block (the test hook: no entry points,
    no packaging). Tenants still have to enable them."""
    added: list[InstalledPlugin] = []
    try:
        for plugin in plugins:
            added.append(register_plugin(plugin))
        yield added
    finally:
        for installed in added:
            unregister_plugin(installed.name)
