"""`closeloop.testing` runs a plugin's hooks the way the server does, without a server."""

from __future__ import annotations

import time
import types
from typing import Any

import msgspec
import pluggy
import pytest

from closeloop import hookimpl
from closeloop.plugins.types import Entitlement, PluginAction
from closeloop.testing import PluginFailure, case_event, run_hook, sample_case, tenant_info


class Settings(msgspec.Struct):
    warranty_days: int = 365
    api_key: str = ""


def _plugin(**hooks: Any) -> types.ModuleType:
    module = types.ModuleType("sample_plugin")
    module.NAME = "sample"  # type: ignore[attr-defined]
    module.VERSION = "1.0"  # type: ignore[attr-defined]
    module.Settings = Settings  # type: ignore[attr-defined]
    module.SECRET_FIELDS = ["api_key"]  # type: ignore[attr-defined]
    for name, function in hooks.items():
        setattr(module, name, hookimpl(function))
    return module


def test_sample_case_takes_overrides_as_data() -> None:
    case = sample_case(received_at="2026-11-01T09:00:00+08:00", extra={"fault_cause": "wear"})
    assert case.received_at.isoformat() == "2026-11-01T09:00:00+08:00"
    assert case.extra == {"fault_cause": "wear"}
    with pytest.raises(TypeError, match="nickname"):
        sample_case(nickname="x")


def test_tenant_info_orders_severities_lowest_first() -> None:
    tenant = tenant_info(severities=[("重大", 3), ("一般", 1), ("重要", 2)])
    assert [s.code for s in tenant.severities] == ["一般", "重要", "重大"]


def test_run_hook_passes_only_named_arguments_and_converts_settings_and_result() -> None:
    seen: dict[str, Any] = {}

    def check_entitlement(case: Any, settings: Any) -> dict[str, Any]:
        seen.update(case=case, settings=settings)
        return {"kind": "warranty", "eligible": True, "rule": f"{settings.warranty_days}d"}

    plugin = _plugin(check_entitlement=check_entitlement)
    result = run_hook(
        plugin, "check_entitlement", case=sample_case(), settings={"warranty_days": 30}
    )
    assert result == Entitlement(kind="warranty", eligible=True, rule="30d")
    assert seen["settings"] == Settings(warranty_days=30)


def test_run_hook_gives_tenant_settings_and_defaults() -> None:
    def validate_intake(tenant_settings: Any, tenant: Any) -> list[dict[str, str]]:
        return [{"field": "description", "message": tenant.slug, "level": "warning"}]

    [issue] = run_hook(
        _plugin(validate_intake=validate_intake), "validate_intake", case=sample_case()
    )
    assert (issue.field, issue.message, issue.level) == ("description", "demo", "warning")


def test_on_case_event_actions() -> None:
    def on_case_event(event: Any) -> list[dict[str, str]]:
        return [{"type": "flag", "label": event.type}]

    result = run_hook(
        _plugin(on_case_event=on_case_event), "on_case_event", event=case_event("reopened")
    )
    assert result == [PluginAction(type="flag", label="reopened")]


@pytest.mark.parametrize(
    ("function", "kind"),
    [
        (lambda case: 1 / 0, "error"),
        (lambda case: "garbage", "invalid_result"),
        (lambda case: {"category": {"code": "x", "confidence": 2}}, "invalid_result"),
        (lambda case: time.sleep(1), "timeout"),
    ],
)
def test_failures_raise_plugin_failure(function: Any, kind: str) -> None:
    plugin = _plugin(classify_case=function)
    with pytest.raises(PluginFailure) as failure:
        run_hook(plugin, "classify_case", case=sample_case(), time_budget=0.2)
    assert failure.value.kind == kind


def test_bad_settings_and_unknown_names() -> None:
    plugin = _plugin(classify_case=lambda case: None)
    assert run_hook(plugin, "classify_case", case=sample_case()) is None
    with pytest.raises(PluginFailure, match="warranty_days"):
        run_hook(plugin, "classify_case", case=sample_case(), settings={"warranty_days": "x"})
    with pytest.raises(LookupError):
        run_hook(plugin, "assess_severity", case=sample_case())
    with pytest.raises(TypeError):
        run_hook(plugin, "classify_case", case=sample_case(), customer="x")


def test_an_argument_the_hook_does_not_have_fails_registration() -> None:
    plugin = _plugin(classify_case=lambda case, customer_name: None)
    with pytest.raises(pluggy.PluginValidationError):
        run_hook(plugin, "classify_case", case=sample_case())
