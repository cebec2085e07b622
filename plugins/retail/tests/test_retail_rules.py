"""The retail rules, table-driven at their boundaries, called as the server calls them
(`closeloop.testing.run_hook`). Day 0 is the day the goods were received; the request is
judged on the local date (Asia/Shanghai, UTC+8) the case arrived."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import closeloop_retail
from closeloop.plugins.types import CaseSnapshot
from closeloop.testing import run_hook, sample_case, tenant_info

SHOPWELL = tenant_info(slug="shopwell", timezone="Asia/Shanghai")
RECEIVED = "2026-11-01"


def day(n: int, time: str = "10:00:00+08:00") -> str:
    """The request moment on day `n` after receipt (2026-11-01 is day 0)."""
    return f"2026-11-{1 + n:02d}T{time}"


def request(
    received_at: str,
    *,
    demands: tuple[str, ...] = ("refund",),
    category: str | None = "returns",
    **extra: Any,
) -> CaseSnapshot:
    extra.setdefault("received_date", RECEIVED)
    return sample_case(
        kind="service_request",
        received_at=received_at,
        title="申请退货",
        description="不想要了,申请退货退款",
        category_code=category,
        product={"name": "Sneakers", "order_number": "SW-1001"},
        demands=list(demands),
        extra=extra,
    )


def decide(case: CaseSnapshot, **settings: Any) -> list[tuple[str, bool, str]]:
    found = run_hook(
        closeloop_retail, "check_entitlement", case=case, settings=settings, tenant=SHOPWELL
    )
    return [(e.kind, e.eligible, e.rule) for e in found or []]


def suggest(case: CaseSnapshot, **settings: Any) -> list[Any]:
    return (
        run_hook(
            closeloop_retail, "suggest_resolution", case=case, settings=settings, tenant=SHOPWELL
        )
        or []
    )


OK = ("return", True, "no_reason_return.within_window")
PASSED = ("return", False, "no_reason_return.window_passed")


@pytest.mark.parametrize(
    ("received_at", "expected", "day_no"),
    [
        (day(0), OK, 0),
        (day(6), OK, 6),
        (day(7), OK, 7),  # day 7: still eligible
        (day(7, "23:59:00+08:00"), OK, 7),  # its last local minute
        (day(8, "00:00:00+08:00"), PASSED, 8),  # day 8: not
        (day(8), PASSED, 8),
        # 16:00 UTC on day 7 is already day 8 in Shanghai
        ("2026-11-08T15:59:00+00:00", OK, 7),
        ("2026-11-08T16:00:00+00:00", PASSED, 8),
    ],
)
def test_no_reason_return_day_7_vs_day_8(
    received_at: str, expected: tuple[str, bool, str], day_no: int
) -> None:
    case = request(received_at, item_condition="resaleable")
    assert decide(case) == [expected]
    found = run_hook(closeloop_retail, "check_entitlement", case=case, tenant=SHOPWELL)
    assert found[0].details["day"] == day_no
    assert found[0].details["last_day"] == "2026-11-08"


def test_the_return_period_is_a_setting() -> None:
    assert decide(request(day(10)), no_reason_return_days=10) == [OK]
    assert decide(request(day(11)), no_reason_return_days=10) == [PASSED]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("resaleable", OK),
        (None, OK),  # not stated: granted subject to inspection
        ("opened", ("return", False, "no_reason_return.not_resaleable")),
        ("damaged", ("return", False, "no_reason_return.not_resaleable")),
    ],
)
def test_no_reason_return_needs_resaleable_goods(
    condition: str | None, expected: tuple[str, bool, str]
) -> None:
    extra = {} if condition is None else {"item_condition": condition}
    assert decide(request(day(3), **extra)) == [expected]


EXCLUDED = ("return", False, "no_reason_return.excluded")


@pytest.mark.parametrize(
    ("category", "condition", "settings", "expected", "exclusion"),
    [
        ("custom_made", "resaleable", {}, EXCLUDED, "custom_made"),
        ("perishable", "resaleable", {}, EXCLUDED, "perishable"),
        ("digital", "opened", {}, EXCLUDED, "opened_digital"),
        ("software", "opened", {}, EXCLUDED, "opened_digital"),
        ("digital", "resaleable", {}, OK, None),  # still sealed: returnable
        ("apparel", "resaleable", {}, OK, None),
        # the tenant's own list replaces the default one
        ("underwear", "resaleable", {"exclusions": ["underwear"]}, EXCLUDED, "underwear"),
        ("custom_made", "resaleable", {"exclusions": ["underwear"]}, OK, None),
        ("ebook", "opened", {"digital_categories": ["ebook"]}, EXCLUDED, "opened_digital"),
    ],
)
def test_exclusions_refuse_no_reason_returns(
    category: str,
    condition: str,
    settings: dict[str, Any],
    expected: tuple[str, bool, str],
    exclusion: str | None,
) -> None:
    case = request(day(2), goods_category=category, item_condition=condition)
    assert decide(case, **settings) == [expected]
    found = run_hook(
        closeloop_retail, "check_entitlement", case=case, settings=settings, tenant=SHOPWELL
    )
    assert found[0].details.get("exclusion") == exclusion


@pytest.mark.parametrize("category", ["custom_made", "perishable", "digital"])
def test_exclusions_never_refuse_a_defect_return(category: str) -> None:
    case = request(day(2), goods_category=category, item_condition="opened", defect=True)
    assert decide(case)[0] == ("return", True, "quality_return.within_window")


@pytest.mark.parametrize(
    ("n", "ret", "exchange"),
    [
        (0, True, True),
        (7, True, True),  # day 7: return or exchange
        (8, False, True),  # day 8: exchange only
        (15, False, True),  # day 15: still an exchange
        (16, False, False),  # day 16: neither
    ],
)
def test_defect_return_within_7_days_exchange_within_15(n: int, ret: bool, exchange: bool) -> None:
    case = request(day(n), defect=True, order_amount=299)
    assert decide(case) == [
        ("return", ret, "quality_return." + ("within_window" if ret else "window_passed")),
        (
            "exchange",
            exchange,
            "quality_exchange." + ("within_window" if exchange else "window_passed"),
        ),
    ]
    expected = (
        (["refund", "exchange"] if ret else ["exchange"]) if exchange else ["warranty_repair"]
    )
    assert [o.solution_type for o in suggest(case)] == expected


def test_defect_windows_are_settings() -> None:
    case = request(day(10), defect=True)
    assert decide(case, quality_return_days=10, quality_exchange_days=30) == [
        ("return", True, "quality_return.within_window"),
        ("exchange", True, "quality_exchange.within_window"),
    ]


def test_a_defect_is_read_from_the_category_when_not_stated() -> None:
    case = request(day(9), category="product_quality.damaged")
    assert decide(case)[1] == ("exchange", True, "quality_exchange.within_window")
    stated = request(day(9), category="product_quality.damaged", defect=False)
    assert decide(stated) == [PASSED]


def test_refund_amount_and_who_pays_the_return_shipping() -> None:
    no_reason = request(day(5), item_condition="resaleable", order_amount=199.5)
    [entitled] = run_hook(closeloop_retail, "check_entitlement", case=no_reason, tenant=SHOPWELL)
    assert entitled.details["refund_amount"] == 199.5
    assert entitled.details["return_shipping_payer"] == "customer"
    [refund] = suggest(no_reason)
    assert (refund.solution_type, refund.cost_bearer) == ("refund", "customer")
    assert (refund.amount, refund.currency) == (Decimal("199.5"), "CNY")
    assert "customer pays the return shipping" in refund.description

    [refund] = suggest(no_reason, no_reason_shipping_payer="merchant")
    assert refund.cost_bearer == "company"
    assert "merchant pays" in refund.description

    defect = request(day(5), defect=True, order_amount=199.5)
    ret, exchange = run_hook(closeloop_retail, "check_entitlement", case=defect, tenant=SHOPWELL)
    assert ret.details["return_shipping_payer"] == "merchant"
    assert ret.details["refund_amount"] == 199.5
    assert "refund_amount" not in exchange.details
    refund, swap = suggest(defect)
    assert (refund.cost_bearer, refund.amount, refund.responsible_party) == (
        "company",
        Decimal("199.5"),
        "internal",
    )
    assert "merchant pays the return shipping" in swap.description


def test_a_customer_who_asks_for_an_exchange_sees_it_first() -> None:
    case = request(day(3), defect=True, demands=("exchange",))
    assert [o.solution_type for o in suggest(case)] == ["exchange", "refund"]


def test_declined_return_explains_why() -> None:
    [option] = suggest(request(day(8)))
    assert option.solution_type == "explain_policy"
    assert "day 8 is past the 7-day" in option.description
    [option] = suggest(request(day(1), goods_category="perishable"))
    assert "perishable goods" in option.description


@pytest.mark.parametrize(
    ("extra", "rule"),
    [
        ({"received_date": None}, "received_date.unknown"),
        ({"received_date": "2026-11-21"}, "received_date.in_future"),
    ],
)
def test_without_a_usable_received_date_nothing_is_granted(
    extra: dict[str, Any], rule: str
) -> None:
    case = request("2026-11-20T10:00:00+08:00", **extra)
    assert decide(case) == [("return", False, rule)]
    assert suggest(case) == []


def test_no_entitlement_for_a_case_that_asks_for_no_return() -> None:
    case = sample_case(
        category_code="service_attitude", demands=["apology"], title="态度差", description="x"
    )
    assert decide(case) == []
