"""The retail plugin's other hooks, called as the server calls them: logistics delays,
category suggestions, intake checks, lifecycle flags, settings."""

from __future__ import annotations

from typing import Any

import pytest

import closeloop_retail
from closeloop.plugins.calling import plugin_meta, settings_schema
from closeloop.testing import PluginFailure, case_event, run_hook, sample_case, tenant_info

SHOPWELL = tenant_info(slug="shopwell")


def complaint(title: str, description: str, category: str | None = None, **extra: Any) -> Any:
    return sample_case(
        title=title,
        description=description,
        category_code=category,
        demands=["apology"],
        product={"name": "Kettle", "order_number": "SW-2001"},
        extra=extra,
    )


def test_module_attributes_and_settings_schema() -> None:
    meta = plugin_meta(closeloop_retail)
    assert (meta.name, meta.version) == ("retail", "0.1.0")
    props = settings_schema(meta)["$defs"]["Settings"]["properties"]
    assert props["no_reason_return_days"]["default"] == 7
    assert props["quality_exchange_days"]["default"] == 15
    assert list(props["exclusions"]["default"]) == ["custom_made", "perishable", "opened_digital"]
    assert props["no_reason_shipping_payer"]["enum"] == ["customer", "merchant"]


def test_settings_are_validated() -> None:
    case = complaint("x", "y")
    for bad in ({"no_reason_shipping_payer": "nobody"}, {"exclusions": "perishable"}):
        with pytest.raises(PluginFailure) as caught:
            run_hook(closeloop_retail, "check_entitlement", case=case, settings=bad)
        assert caught.value.kind == "invalid_settings"


def test_extra_fields() -> None:
    fields = {f.name: f for f in run_hook(closeloop_retail, "extra_fields", kind="complaint")}
    assert set(fields) == {
        "received_date",
        "item_condition",
        "goods_category",
        "defect",
        "carrier",
        "order_amount",
    }
    assert fields["received_date"].type == "date"
    assert fields["item_condition"].choices == ["resaleable", "opened", "damaged"]
    assert fields["defect"].type == "boolean"
    assert fields["order_amount"].type == "number"
    assert run_hook(closeloop_retail, "extra_fields", kind="suggestion") is None


@pytest.mark.parametrize(
    ("title", "description", "category", "extra", "carrier"),
    [
        (
            "快递延误一周",
            "订单承诺三天送达,实际一周后才到",
            None,
            {"carrier": "中通快递"},
            "中通快递",
        ),
        ("物流太慢了", "顺丰显示在途五天没有更新", None, {}, "顺丰"),
        ("Late delivery", "My parcel from UPS was delayed by a week", None, {}, "UPS"),
        ("包裹丢失", "下单两周了还没收到", "logistics_delay.lost", {"carrier": "韵达"}, "韵达"),
        ("其他问题", "客服没回复", "logistics_delay", {}, None),  # filed there by staff
    ],
)
def test_logistics_delay_puts_the_carrier_in_charge(
    title: str, description: str, category: str | None, extra: dict[str, Any], carrier: str | None
) -> None:
    case = complaint(title, description, category, **extra)
    [option] = run_hook(closeloop_retail, "suggest_resolution", case=case, tenant=SHOPWELL)
    assert option.solution_type == "carrier_claim"
    assert (option.cost_bearer, option.responsible_party) == ("third_party", "third_party")
    assert (carrier or "the carrier") in option.description


@pytest.mark.parametrize(
    ("title", "description", "category"),
    [
        ("商品质量差", "鞋底开胶了", None),
        ("退款未到账", "已用快递寄回,退款还没收到", None),  # the courier is in another clause
        ("物流太慢", "快递延误", "pricing"),  # staff filed it elsewhere: kept
        ("Ups and downs", "the groups of buttons are loose", None),
    ],
)
def test_not_a_logistics_delay(title: str, description: str, category: str | None) -> None:
    case = complaint(title, description, category)
    assert run_hook(closeloop_retail, "suggest_resolution", case=case, tenant=SHOPWELL) is None
    assert run_hook(closeloop_retail, "classify_case", case=case) is None


def test_classify_suggests_the_logistics_category_for_an_uncategorised_delay() -> None:
    case = complaint("快递延误一周", "包裹在中转站滞留,申通一直不派送")
    found = run_hook(closeloop_retail, "classify_case", case=case)
    assert found.category.code == "logistics_delay"
    assert "申通" in found.category.reason
    assert 0 < found.category.confidence < 1
    assert found.severity is None
    renamed = run_hook(
        closeloop_retail, "classify_case", case=case, settings={"logistics_category": "shipping"}
    )
    assert renamed.category.code == "shipping"
    filed = complaint("快递延误一周", "申通一直不派送", "logistics_delay")
    assert run_hook(closeloop_retail, "classify_case", case=filed) is None


def test_a_late_parcel_with_a_refund_demand_gets_both_answers() -> None:
    case = sample_case(
        title="快递延误一周",
        description="圆通物流延误,收到时已经过了活动日期,想退货",
        category_code="logistics_delay.in_transit",
        demands=["refund"],
        extra={"received_date": "2026-11-18", "item_condition": "resaleable"},
    )
    found = run_hook(closeloop_retail, "suggest_resolution", case=case, tenant=SHOPWELL)
    assert [o.solution_type for o in found] == ["carrier_claim", "refund"]
    assert "圆通" in found[0].description


@pytest.mark.parametrize(
    ("demands", "extra", "issues"),
    [
        (
            ["refund"],
            {"received_date": "2026-11-21", "item_condition": "resaleable"},
            [("extra.received_date", "error")],
        ),
        (["refund"], {"received_date": "2026-11-20", "item_condition": "opened"}, []),
        (
            ["return_goods"],
            {"item_condition": "resaleable"},
            [("extra.received_date", "warning")],
        ),
        (
            ["refund"],
            {"received_date": "2026-11-19"},
            [("extra.item_condition", "warning")],
        ),
        (["refund"], {"received_date": "2026-11-19", "defect": True}, []),
        (["apology"], {}, []),
    ],
)
def test_validate_intake(
    demands: list[str], extra: dict[str, Any], issues: list[tuple[str, str]]
) -> None:
    # received 2026-11-20 10:00 Shanghai: the 21st is tomorrow there
    case = sample_case(number=None, category_code=None, demands=demands, extra=extra)
    found = run_hook(closeloop_retail, "validate_intake", case=case, tenant=SHOPWELL)
    assert [(i.field, i.level) for i in found or []] == issues


def _resolved(resolution: dict[str, Any], **overrides: Any) -> Any:
    case = sample_case(
        status="resolved",
        resolution={"root_cause": "x", "result": "y", "third_party": None, **resolution},
        **overrides,
    )
    return case_event("resolve", case=case, from_status="in_progress", to_status="resolved")


def test_on_resolve_flags_a_delivery_delay_not_put_on_the_carrier() -> None:
    late = {
        "title": "快递延误",
        "description": "x",
        "category_code": "logistics_delay",
        "extra": {"carrier": "顺丰"},
        "demands": ["apology"],
    }
    wrong = _resolved({"responsible_party": "internal", "solution_type": "apology"}, **late)
    [flag] = run_hook(closeloop_retail, "on_case_event", event=wrong, tenant=SHOPWELL)
    assert flag.type == "flag"
    assert "顺丰" in (flag.label or "")
    right = _resolved(
        {"responsible_party": "third_party", "third_party": "顺丰", "solution_type": "apology"},
        **late,
    )
    assert run_hook(closeloop_retail, "on_case_event", event=right) is None


def test_on_resolve_flags_a_refund_the_rules_do_not_grant() -> None:
    facts = {
        "category_code": "returns.no_reason",
        "demands": ["refund"],
        "received_at": "2026-11-20T10:00:00+08:00",
    }
    late = _resolved(
        {"responsible_party": "customer", "solution_type": "refund"},
        extra={"received_date": "2026-11-12", "item_condition": "resaleable"},
        **facts,
    )
    [flag] = run_hook(closeloop_retail, "on_case_event", event=late, tenant=SHOPWELL)
    assert "no_reason_return.window_passed" in (flag.label or "")
    in_time = _resolved(
        {"responsible_party": "customer", "solution_type": "refund"},
        extra={"received_date": "2026-11-13", "item_condition": "resaleable"},
        **facts,
    )
    assert run_hook(closeloop_retail, "on_case_event", event=in_time, tenant=SHOPWELL) is None
