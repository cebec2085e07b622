"""The manufacturing plugin's other hooks, called as the server calls them."""

from __future__ import annotations

from typing import Any

import pytest

import closeloop_manufacturing
from closeloop.plugins.calling import plugin_meta, settings_schema
from closeloop.testing import PluginFailure, case_event, run_hook, sample_case, tenant_info

ACME = tenant_info(slug="acme-appliances")


def test_module_attributes_and_settings_schema() -> None:
    meta = plugin_meta(closeloop_manufacturing)
    assert (meta.name, meta.version) == ("manufacturing", "0.1.0")
    schema = settings_schema(meta)
    props = schema["$defs"]["Settings"]["properties"]
    assert props["warranty_months"]["default"] == 12
    assert props["require_proof"]["default"] is True
    assert {"batch_alert_threshold", "batch_alert_window_days", "doa_days"} <= set(props)


def test_settings_are_validated() -> None:
    case = sample_case(product={"purchase_date": "2025-11-20"})
    with pytest.raises(PluginFailure) as caught:
        run_hook(closeloop_manufacturing, "check_entitlement", case=case, settings={"warranty": 12})
    assert caught.value.kind == "invalid_settings"
    with pytest.raises(PluginFailure):
        run_hook(
            closeloop_manufacturing,
            "check_entitlement",
            case=case,
            settings={"warranty_months": -1},
        )


def test_extra_fields_for_complaints_and_service_requests_only() -> None:
    fields = run_hook(closeloop_manufacturing, "extra_fields", kind="service_request")
    by_name = {f.name: f for f in fields}
    assert by_name["purchase_date"].type == "date"
    assert by_name["proof_of_purchase"].choices == ["order", "invoice", "warranty_card", "none"]
    assert by_name["fault_cause"].choices == [
        "quality_defect",
        "wear",
        "misuse",
        "not_reproducible",
    ]
    assert by_name["product_line"].type == "string"
    assert by_name["previous_repairs"].type == "integer"
    assert by_name["repair_quote"].type == "number"
    assert not any(f.required for f in fields)
    assert run_hook(closeloop_manufacturing, "extra_fields", kind="complaint")
    assert run_hook(closeloop_manufacturing, "extra_fields", kind="inquiry") is None


@pytest.mark.parametrize(
    ("product", "extra", "settings", "issues"),
    [
        # bought the day after the case arrived (local date): refused
        (
            {"purchase_date": "2026-11-21", "order_number": "A1"},
            {},
            {},
            [("product.purchase_date", "error")],
        ),
        ({"purchase_date": "2026-11-20", "order_number": "A1"}, {}, {}, []),  # same day: fine
        (
            {},
            {"purchase_date": "2026-12-01"},
            {"require_proof": False},
            [("extra.purchase_date", "error")],
        ),
        ({"purchase_date": "2025-01-01"}, {}, {}, [("extra.proof_of_purchase", "warning")]),
        (
            {"purchase_date": "2025-01-01"},
            {"proof_of_purchase": "none"},
            {},
            [("extra.proof_of_purchase", "warning")],
        ),
        ({"purchase_date": "2025-01-01"}, {}, {"require_proof": False}, []),
        ({"purchase_date": "2025-01-01", "warranty_card": "WC-1"}, {}, {}, []),
    ],
)
def test_validate_intake(
    product: dict[str, str],
    extra: dict[str, Any],
    settings: dict[str, Any],
    issues: list[tuple[str, str]],
) -> None:
    case = sample_case(number=None, product={"name": "Fridge", **product}, extra=extra)
    found = run_hook(
        closeloop_manufacturing, "validate_intake", case=case, settings=settings, tenant=ACME
    )
    assert [(i.field, i.level) for i in found or []] == issues


def test_purchase_date_in_the_future_names_the_local_dates() -> None:
    # 2026-11-20 02:00 UTC is 10:00 in Shanghai: a purchase on the 21st is tomorrow there
    case = sample_case(number=None, product={"purchase_date": "2026-11-21", "order_number": "A"})
    [issue] = run_hook(closeloop_manufacturing, "validate_intake", case=case, tenant=ACME)
    assert "2026-11-21" in issue.message
    assert "2026-11-20" in issue.message


@pytest.mark.parametrize(
    ("cause", "batch", "key"),
    [
        ("quality_defect", "B2026-11", "manufacturing.batch:B2026-11"),
        ("wear", "B2026-11", None),
        ("quality_defect", None, None),
        (None, "B2026-11", None),
    ],
)
def test_quality_defects_are_correlated_by_batch(
    cause: str | None, batch: str | None, key: str | None
) -> None:
    product = {"name": "Washing machine", "model": "WM-100"}
    if batch:
        product["batch"] = batch
    extra = {"fault_cause": cause} if cause else {}
    case = sample_case(product=product, extra=extra)
    found = run_hook(
        closeloop_manufacturing,
        "correlate_case",
        case=case,
        settings={"batch_alert_threshold": 4, "batch_alert_window_days": 7},
    )
    if key is None:
        assert found is None
        return
    assert found.key == key
    assert (found.threshold, found.window_minutes) == (4, 7 * 24 * 60)
    assert "WM-100 B2026-11" in found.label


def _resolved_case(solution: str, purchase: str, **extra: Any) -> Any:
    return sample_case(
        status="resolved",
        product={"name": "Fridge", "purchase_date": purchase, "order_number": "A1"},
        extra=extra,
        resolution={
            "root_cause": "compressor",
            "responsible_party": "internal",
            "third_party": None,
            "solution_type": solution,
            "result": "done",
        },
    )


@pytest.mark.parametrize(
    ("solution", "purchase", "cause", "flag"),
    [
        ("paid_repair", "2026-01-01", "quality_defect", "should be free"),
        ("free_repair", "2026-01-01", "quality_defect", None),
        ("paid_repair", "2026-01-01", "misuse", None),
        ("free_repair", "2024-01-01", "quality_defect", "outside the warranty"),
        ("paid_repair", "2024-01-01", "quality_defect", None),
    ],
)
def test_on_resolve_flags_a_solution_against_the_warranty(
    solution: str, purchase: str, cause: str, flag: str | None
) -> None:
    case = _resolved_case(solution, purchase, fault_cause=cause)
    event = case_event("resolve", case=case, from_status="in_progress", to_status="resolved")
    found = run_hook(closeloop_manufacturing, "on_case_event", event=event, tenant=ACME)
    if flag is None:
        assert found is None
    else:
        [action] = found
        assert action.type == "flag"
        assert flag in (action.label or "")


def test_on_reopen_of_an_in_warranty_defect_suggests_a_replacement() -> None:
    case = sample_case(
        status="reopened",
        product={"name": "Fridge", "purchase_date": "2026-01-01", "order_number": "A1"},
        extra={"fault_cause": "quality_defect", "previous_repairs": 1},
    )
    event = case_event("reopen", case=case, from_status="resolved", to_status="reopened")
    [action] = run_hook(closeloop_manufacturing, "on_case_event", event=event, tenant=ACME)
    assert "offer a free replacement" in (action.label or "")
    verified = case_event("verify", case=case)
    assert run_hook(closeloop_manufacturing, "on_case_event", event=verified) is None
