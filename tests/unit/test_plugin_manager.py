"""The plugin manager without a database: discovery, metadata, checks against the specs,
and per-plugin calls that fail alone and are logged with the plugin's name."""

from __future__ import annotations

import asyncio
import importlib.metadata
import types
from typing import Any

import msgspec
import pluggy
import pytest
import structlog

from closeloop import hookimpl
from closeloop.plugins.calling import PluginFailure, plugin_meta, settings_schema
from closeloop.plugins.manager import DEFAULT_PLUGINS, PluginManager, registered_plugins
from closeloop.plugins.tenant import ActivePlugin, TenantPlugins
from closeloop.testing import run_hook, sample_case, tenant_info


def _module(name: str, **hooks: Any) -> types.ModuleType:
    module = types.ModuleType(f"{name}_module")
    module.NAME = name  # type: ignore[attr-defined]
    module.VERSION = "2.0"  # type: ignore[attr-defined]
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def test_builtin_plugins_are_registered_like_any_other() -> None:
    manager = PluginManager()
    manager.load_builtins()
    names = [p.name for p in manager.installed()]
    assert names == ["intake_checks"]
    [builtin] = manager.installed()
    assert (builtin.origin, builtin.enabled_by_default, builtin.hooks) == (
        "builtin",
        True,
        ("validate_intake",),
    )
    assert DEFAULT_PLUGINS == ("closeloop.plugins.builtin.intake_checks",)


def test_the_builtin_warns_about_a_purchase_after_the_case() -> None:
    import closeloop.plugins.builtin.intake_checks as checks

    later = sample_case(product={"purchase_date": "2026-12-01"})
    [issue] = run_hook(checks, "validate_intake", case=later)
    assert (issue.field, issue.level) == ("product.purchase_date", "warning")
    assert run_hook(checks, "validate_intake", case=sample_case()) is None


def test_entry_points_are_found_and_a_broken_one_is_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = _module("good", classify_case=lambda case: None)

    class Point:
        def __init__(self, name: str, target: Any) -> None:
            self.name = name
            self._target = target

        def load(self) -> Any:
            if isinstance(self._target, Exception):
                raise self._target
            return self._target

    points = [Point("good", good), Point("broken", ImportError("no module named broken_dep"))]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: points)
    manager = PluginManager()
    manager.load_entry_points()
    assert [p.name for p in manager.installed()] == ["good"]
    assert manager.installed()[0].origin == "entry_point"
    assert manager.load_errors == {"broken": "ImportError: no module named broken_dep"}


def test_a_hook_with_an_unknown_argument_or_a_taken_name_is_refused() -> None:
    manager = PluginManager()
    with pytest.raises(pluggy.PluginValidationError):
        manager.register(_module("bad", classify_case=lambda case, customer_phone: None))
    manager.register(_module("twice", classify_case=lambda case: None))
    with pytest.raises(ValueError, match="already installed"):
        manager.register(_module("twice"))


def test_registered_plugins_are_gone_after_the_block() -> None:
    plugin = _module("temporary", classify_case=lambda case: None)
    with registered_plugins(plugin) as [installed]:
        assert installed.hooks == ("classify_case",)
    from closeloop.plugins.manager import plugin_manager

    assert plugin_manager().get("temporary") is None


def test_metadata_and_settings_schema() -> None:
    class Settings(msgspec.Struct):
        days: int = 7
        token: str = ""

    module = _module("meta")
    module.Settings = Settings  # type: ignore[attr-defined]
    module.SECRET_FIELDS = ["token"]  # type: ignore[attr-defined]
    module.DESCRIPTION = "Meta"  # type: ignore[attr-defined]
    meta = plugin_meta(module)
    assert (meta.name, meta.version, meta.description, meta.secret_fields) == (
        "meta",
        "2.0",
        "Meta",
        ("token",),
    )
    props = settings_schema(meta)["$defs"]["Settings"]["properties"]
    assert props["token"]["writeOnly"] is True
    module.SECRET_FIELDS = ["nope"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="SECRET_FIELDS"):
        plugin_meta(module)


def _tenant_plugins(*modules: types.ModuleType, budget: float = 2.0) -> TenantPlugins:
    manager = PluginManager()
    active = [ActivePlugin(manager.register(m), None, {}, None, budget, 5) for m in modules]
    return TenantPlugins(None, tenant_info(), active, manager)  # type: ignore[arg-type]


def test_each_plugin_is_called_alone_and_a_failure_is_logged_with_its_name() -> None:
    def broken(case: Any) -> None:
        raise KeyError("category")

    plugins = _tenant_plugins(
        _module("fine", classify_case=lambda case, tenant: {"category": {"code": tenant.slug}}),
        _module("broken", classify_case=broken),
    )
    with structlog.testing.capture_logs() as logs:
        outcomes = asyncio.run(plugins.call("classify_case", case=sample_case()))
    by_name = {o.plugin: o for o in outcomes}
    assert by_name["fine"].ok
    assert by_name["fine"].result.category.code == "demo"
    assert (by_name["broken"].status, by_name["broken"].error) == (
        "failed",
        "error: KeyError: 'category'",
    )
    [line] = [entry for entry in logs if entry["event"] == "plugin call failed"]
    assert (line["plugin"], line["hook"], line["log_level"]) == (
        "broken",
        "classify_case",
        "warning",
    )


def test_unusable_stored_settings_fail_the_call_without_calling() -> None:
    calls: list[Any] = []
    plugins = _tenant_plugins(_module("stale", classify_case=lambda case: calls.append(case)))
    plugins.active[0].settings_error = "invalid_settings: Expected `int`"
    [outcome] = asyncio.run(plugins.call("classify_case", case=sample_case()))
    assert (outcome.status, calls) == ("failed", [])


def test_run_hook_and_the_server_agree_on_failures() -> None:
    plugin = _module("slow", check_entitlement=lambda case: __import__("time").sleep(0.5))
    with pytest.raises(PluginFailure) as failure:
        run_hook(plugin, "check_entitlement", case=sample_case(), time_budget=0.05)
    assert failure.value.kind == "timeout"
    [outcome] = asyncio.run(
        _tenant_plugins(plugin, budget=0.05).call("check_entitlement", case=sample_case())
    )
    assert outcome.error is not None
    assert outcome.error.startswith("timeout")


def test_a_hung_call_holds_up_no_other_and_idle_threads_are_reused() -> None:
    import threading

    from closeloop.plugins.calling import call_sync

    release = threading.Event()
    names: list[int] = []
    with pytest.raises(PluginFailure):  # keeps its thread until released
        call_sync(lambda: release.wait(10), "classify_case", {}, time_budget=0.05)
    for _ in range(5):  # one after another: each may take the thread the last one left
        call_sync(lambda: names.append(threading.get_ident()), "classify_case", {})
    release.set()
    assert len(names) == 5
    assert len(set(names)) == 1  # a call ends with its thread idle again
