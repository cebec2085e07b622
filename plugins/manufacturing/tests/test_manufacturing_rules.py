"""The manufacturing rules, table-driven at their boundaries, called as the server calls
them (`closeloop.testing.run_hook`). The tenant is in Asia/Shanghai (UTC+8) unless a
row says otherwise: a claim is judged on its local date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

import closeloop_manufacturing
from closeloop.plugins.types import CaseSnapshot
from closeloop.testing import run_hook, sample_case, tenant_info
from closeloop_manufacturing.rules import warranty_last_day

ACME = tenant_info(slug="acme-appliances", timezone="Asia/Shanghai")


def claim(
    purchase: str | None = "2025-03-15",
    received: str = "2026-03-14T10:00:00+08:00",
    *,
    proof: str | None = "invoice",
    **extra: Any,
) -> CaseSnapshot:
    product: dict[str, Any] = {"name": "Washing machine", "model": "WM-100"}
    if purchase is not None:
        product["purchase_date"] = purchase
    if proof is not None:
        extra["proof_of_purchase"] = proof
    return sample_case(kind="service_request", received_at=received, product=product, extra=extra)


def entitlement(case: CaseSnapshot, **settings: Any) -> Any:
    return run_hook(
        closeloop_manufacturing, "check_entitlement", case=case, settings=settings, tenant=ACME
    )


def options(case: CaseSnapshot, **settings: Any) -> list[tuple[str, str]]:
    found = run_hook(
        closeloop_manufacturing, "suggest_resolution", case=case, settings=settings, tenant=ACME
    )
    return [(o.solution_type, o.cost_bearer) for o in found or []]


@pytest.mark.parametrize(
    ("purchase", "months", "last_day"),
    [
        ("2025-03-15", 12, "2026-03-14"),  # the day before the anniversary
        ("2025-01-01", 12, "2025-12-31"),
        ("2024-01-31", 1, "2024-02-29"),  # no 31 February: through the month's end
        ("2025-01-31", 1, "2025-02-28"),
        ("2024-02-29", 12, "2025-02-28"),  # leap day: through 28 February
        ("2025-03-15", 36, "2028-03-14"),
        ("2025-03-15", 0, "2025-03-14"),  # no warranty: not even the purchase day
        ("2025-12-31", 2, "2026-02-28"),
    ],
)
def test_warranty_last_day(purchase: str, months: int, last_day: str) -> None:
    found = warranty_last_day(dt.date.fromisoformat(purchase), months)
    assert found == dt.date.fromisoformat(last_day)


@pytest.mark.parametrize(
    ("received", "eligible", "rule", "days_left"),
    [
        ("2026-03-14T10:00:00+08:00", True, "warranty.in_warranty", 0),  # last day
        ("2026-03-14T23:59:00+08:00", True, "warranty.in_warranty", 0),  # its last minute
        ("2026-03-15T00:00:00+08:00", False, "warranty.expired", -1),  # the day after
        # 16:00 UTC on the 14th is already the 15th in Shanghai: expired
        ("2026-03-14T16:00:00+00:00", False, "warranty.expired", -1),
        ("2026-03-14T15:59:00+00:00", True, "warranty.in_warranty", 0),
        ("2025-03-15T09:00:00+08:00", True, "warranty.in_warranty", 364),  # purchase day
    ],
)
def test_last_day_of_warranty_in_the_tenants_time_zone(
    received: str, eligible: bool, rule: str, days_left: int
) -> None:
    found = entitlement(claim("2025-03-15", received))
    assert (found.kind, found.eligible, found.rule) == ("warranty", eligible, rule)
    assert found.details["last_day"] == "2026-03-14"
    assert found.details["days_left"] == days_left


def test_the_same_moment_in_another_time_zone_is_another_day() -> None:
    case = claim("2025-03-15", "2026-03-14T16:00:00+00:00")
    london = tenant_info(timezone="Europe/London")
    found = run_hook(closeloop_manufacturing, "check_entitlement", case=case, tenant=london)
    assert found.eligible
    assert found.details["claim_date"] == "2026-03-14"


@pytest.mark.parametrize(
    ("line", "received", "eligible", "months"),
    [
        ("compressor", "2028-03-14T12:00:00+08:00", True, 36),
        ("compressor", "2028-03-15T12:00:00+08:00", False, 36),
        ("small_appliance", "2025-09-14T12:00:00+08:00", True, 6),
        ("small_appliance", "2025-09-15T12:00:00+08:00", False, 6),
        ("unlisted", "2026-03-14T12:00:00+08:00", True, 12),  # the default
        ("unlisted", "2026-03-15T12:00:00+08:00", False, 12),
    ],
)
def test_warranty_months_per_product_line(
    line: str, received: str, eligible: bool, months: int
) -> None:
    settings = {"warranty_months_by_line": {"compressor": 36, "small_appliance": 6}}
    found = entitlement(claim("2025-03-15", received, product_line=line), **settings)
    assert found.eligible is eligible
    assert found.details["warranty_months"] == months


@pytest.mark.parametrize(
    ("proof", "product", "require", "eligible", "rule"),
    [
        ("invoice", {}, True, True, "warranty.in_warranty"),
        ("warranty_card", {}, True, True, "warranty.in_warranty"),
        ("order", {}, True, True, "warranty.in_warranty"),
        ("none", {}, True, False, "warranty.proof_missing"),
        (None, {}, True, False, "warranty.proof_missing"),
        (None, {"order_number": "JD-1001"}, True, True, "warranty.in_warranty"),
        (None, {"warranty_card": "WC-77"}, True, True, "warranty.in_warranty"),
        ("none", {}, False, True, "warranty.in_warranty"),
    ],
)
def test_proof_of_purchase(
    proof: str | None, product: dict[str, str], require: bool, eligible: bool, rule: str
) -> None:
    extra = {} if proof is None else {"proof_of_purchase": proof}
    case = sample_case(
        received_at="2026-03-01T10:00:00+08:00",
        product={"name": "Fridge", "purchase_date": "2025-03-15", **product},
        extra=extra,
    )
    found = entitlement(case, require_proof=require)
    assert (found.eligible, found.rule) == (eligible, rule)


def test_purchase_date_from_extra_unknown_or_in_the_future() -> None:
    from_extra = sample_case(
        received_at="2026-03-01T10:00:00+08:00",
        product={"name": "Fridge"},
        extra={"purchase_date": "2025-03-15", "proof_of_purchase": "invoice"},
    )
    assert entitlement(from_extra).details["purchase_date"] == "2025-03-15"
    assert entitlement(claim(None)).rule == "warranty.purchase_date_unknown"
    future = entitlement(claim("2026-03-15", "2026-03-14T23:00:00+08:00"))
    assert (future.eligible, future.rule) == (False, "warranty.purchase_date_in_future")


def test_no_entitlement_for_a_case_without_a_product() -> None:
    case = sample_case(product={}, extra={}, title="客服态度差", description="电话里很不耐烦")
    assert entitlement(case) is None
    inquiry = sample_case(kind="inquiry", product={"purchase_date": "2025-03-15"})
    assert entitlement(inquiry) is None


@pytest.mark.parametrize(
    ("purchase", "received", "extra", "expected"),
    [
        # defective on arrival: day 15 after purchase gets a replacement, day 16 a repair
        (
            "2026-03-01",
            "2026-03-16T10:00:00+08:00",
            {"fault_cause": "quality_defect"},
            [("free_replacement", "company"), ("free_repair", "company")],
        ),
        (
            "2026-03-01",
            "2026-03-17T10:00:00+08:00",
            {"fault_cause": "quality_defect"},
            [("free_repair", "company")],
        ),
        # a repeat failure: after 2 repairs a replacement, after 1 another repair
        (
            "2025-06-01",
            "2026-03-01T10:00:00+08:00",
            {"fault_cause": "quality_defect", "previous_repairs": 2},
            [("free_replacement", "company"), ("free_repair", "company")],
        ),
        (
            "2025-06-01",
            "2026-03-01T10:00:00+08:00",
            {"fault_cause": "quality_defect", "previous_repairs": 1},
            [("free_repair", "company")],
        ),
        # last day of warranty vs the day after
        (
            "2025-03-15",
            "2026-03-14T10:00:00+08:00",
            {"fault_cause": "quality_defect"},
            [("free_repair", "company")],
        ),
        (
            "2025-03-15",
            "2026-03-15T10:00:00+08:00",
            {"fault_cause": "quality_defect"},
            [("paid_repair", "customer")],
        ),
        # wear and misuse are paid even in warranty
        (
            "2025-06-01",
            "2026-03-01T10:00:00+08:00",
            {"fault_cause": "wear"},
            [("paid_repair", "customer")],
        ),
        (
            "2025-06-01",
            "2026-03-01T10:00:00+08:00",
            {"fault_cause": "misuse"},
            [("paid_repair", "customer")],
        ),
        (
            "2025-06-01",
            "2026-03-01T10:00:00+08:00",
            {"fault_cause": "not_reproducible"},
            [("usage_guidance", "company")],
        ),
        # cause not yet known: inspect, free in warranty, paid out of it
        ("2025-06-01", "2026-03-01T10:00:00+08:00", {}, [("inspection", "company")]),
        ("2024-06-01", "2026-03-01T10:00:00+08:00", {}, [("inspection", "customer")]),
    ],
)
def test_resolution_by_fault_cause_and_warranty(
    purchase: str, received: str, extra: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert options(claim(purchase, received, **extra)) == expected


def test_quality_defect_without_proof_is_a_paid_repair() -> None:
    case = claim(
        "2025-06-01", "2026-03-01T10:00:00+08:00", proof="none", fault_cause="quality_defect"
    )
    found = run_hook(closeloop_manufacturing, "suggest_resolution", case=case, tenant=ACME)
    assert [(o.solution_type, o.cost_bearer) for o in found] == [("paid_repair", "customer")]
    assert "no proof of purchase" in found[0].description


def test_paid_repair_carries_the_quote_and_the_responsible_party() -> None:
    case = claim("2025-06-01", "2026-03-01T10:00:00+08:00", fault_cause="misuse", repair_quote=380)
    [paid] = run_hook(closeloop_manufacturing, "suggest_resolution", case=case, tenant=ACME)
    assert (paid.amount, paid.currency, paid.responsible_party) == (Decimal(380), "CNY", "customer")
    unquoted = claim("2025-06-01", "2026-03-01T10:00:00+08:00", fault_cause="wear")
    [paid] = run_hook(closeloop_manufacturing, "suggest_resolution", case=unquoted, tenant=ACME)
    assert paid.amount is None
    assert "no quote yet" in paid.description


def test_replacement_threshold_and_doa_days_are_settings() -> None:
    case = claim("2026-03-01", "2026-03-08T10:00:00+08:00", fault_cause="quality_defect")
    assert options(case, doa_days=7)[0][0] == "free_replacement"
    assert options(case, doa_days=6)[0][0] == "free_repair"
    repeat = claim(
        "2025-06-01", "2026-03-01T10:00:00+08:00", fault_cause="quality_defect", previous_repairs=1
    )
    assert options(repeat, replacement_after_repairs=1)[0][0] == "free_replacement"
