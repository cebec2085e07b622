"""The retail rules as pure functions of a `Claim` and the tenant's `Settings`.

Day counting (calendar dates in the tenant's time zone): day 0 is the day the goods
were received (`extra.received_date`), day N the N-th day after it; the request is
judged on the day the case was received. "Within 7 days" means through day 7:

* **no-reason return**: day 7 eligible, day 8 not; only for goods in `resaleable`
  condition (an unstated condition is accepted subject to inspection on return) and
  not in an excluded category. The customer pays the return shipping unless the
  tenant says the merchant does.
* **defect**: return (refund) through day 7, exchange through day 15, neither from
  day 16 on (then the manufacturer's warranty applies). Exclusions do not apply to a
  defective item, and the merchant pays the return shipping.

The refund is `extra.order_amount`. Functions return the plain-dict shapes of the hook
contract (`Entitlement`, `ResolutionOption`, `FieldIssue`, `Classification`, `FieldSpec`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from closeloop_retail.claim import CONDITIONS, Claim
from closeloop_retail.logistics import carrier_of, is_logistics_delay
from closeloop_retail.settings import Settings

__all__ = [
    "classification",
    "entitlement",
    "exclusion_of",
    "extra_field_specs",
    "intake_issues",
    "lifecycle_flags",
    "resolution_options",
]


def extra_field_specs(kind: str) -> list[dict[str, Any]]:
    """The case fields this plugin reads (`extra[name]`), for complaints and service requests."""
    if kind not in ("complaint", "service_request"):
        return []
    return [
        {
            "name": "received_date",
            "type": "date",
            "required": False,
            "description": "Day the customer received the goods (day 0 of the return periods)",
        },
        {
            "name": "item_condition",
            "type": "enum",
            "required": False,
            "choices": list(CONDITIONS),
            "description": "Condition of the goods: resaleable, opened or damaged",
        },
        {
            "name": "goods_category",
            "type": "string",
            "required": False,
            "description": "Goods category, checked against the tenant's exclusions",
        },
        {
            "name": "defect",
            "type": "boolean",
            "required": False,
            "description": "The item has a quality defect",
        },
        {
            "name": "carrier",
            "type": "string",
            "required": False,
            "description": "Carrier that delivered (or lost) the parcel",
        },
        {
            "name": "order_amount",
            "type": "number",
            "required": False,
            "description": "Amount paid for the goods; the refund of a return",
        },
    ]


def exclusion_of(claim: Claim, settings: Settings) -> str | None:
    """The tenant exclusion that keeps these goods from a no-reason return, if any."""
    for code in settings.exclusions:
        if code == "opened_digital":
            if claim.goods_category in settings.digital_categories and (
                claim.item_condition == "opened"
            ):
                return code
        elif claim.goods_category == code:
            return code
    return None


def entitlement(claim: Claim, settings: Settings) -> list[dict[str, Any]] | None:
    """The return / exchange decisions, or None for a case that asks for neither.

    A defective item gets two: the return (refund) and the exchange, each with its own
    window. Other goods get one: the no-reason return."""
    if not claim.about_return:
        return None
    kind = "exchange" if claim.wants_exchange_only else "return"
    details: dict[str, Any] = {
        "request_date": claim.request_date.isoformat(),
        "defect": claim.defect,
        "item_condition": claim.item_condition,
        "goods_category": claim.goods_category,
    }
    if claim.received_date is None:
        return [_decision(kind, False, "received_date.unknown", details)]
    day = (claim.request_date - claim.received_date).days
    details |= {"received_date": claim.received_date.isoformat(), "day": day}
    if day < 0:
        return [_decision(kind, False, "received_date.in_future", details)]
    if claim.defect:
        return _defect_decisions(claim, settings, day, details)
    details["return_days"] = settings.no_reason_return_days
    excluded = exclusion_of(claim, settings)
    if excluded is not None:
        details["exclusion"] = excluded
        return [_decision("return", False, "no_reason_return.excluded", details)]
    last_day = claim.received_date + dt.timedelta(days=settings.no_reason_return_days)
    details["last_day"] = last_day.isoformat()
    if day > settings.no_reason_return_days:
        return [_decision("return", False, "no_reason_return.window_passed", details)]
    if claim.item_condition not in (None, "resaleable"):
        return [_decision("return", False, "no_reason_return.not_resaleable", details)]
    details |= {
        "refund_amount": claim.order_amount,
        "currency": settings.currency,
        "return_shipping_payer": settings.no_reason_shipping_payer,
        "inspection": "pending" if claim.item_condition is None else "passed",
    }
    return [_decision("return", True, "no_reason_return.within_window", details)]


def _defect_decisions(
    claim: Claim, settings: Settings, day: int, details: dict[str, Any]
) -> list[dict[str, Any]]:
    assert claim.received_date is not None
    details = details | {"return_shipping_payer": "merchant"}
    decisions = []
    for kind, days in (
        ("return", settings.quality_return_days),
        ("exchange", settings.quality_exchange_days),
    ):
        last_day = claim.received_date + dt.timedelta(days=days)
        mine = details | {"window_days": days, "last_day": last_day.isoformat()}
        eligible = day <= days
        if kind == "return" and eligible:
            mine |= {"refund_amount": claim.order_amount, "currency": settings.currency}
        rule = f"quality_{kind}." + ("within_window" if eligible else "window_passed")
        decisions.append(_decision(kind, eligible, rule, mine))
    return decisions


def _decision(kind: str, eligible: bool, rule: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "eligible": eligible, "rule": rule, "details": details}


def resolution_options(claim: Claim, settings: Settings) -> list[dict[str, Any]]:
    """Solution options, the recommended one first, each with who bears the cost."""
    options: list[dict[str, Any]] = []
    if is_logistics_delay(claim, settings.logistics_category):
        carrier = carrier_of(claim)
        who = carrier or "the carrier"
        options.append(
            {
                "solution_type": "carrier_claim",
                "description": f"Delivery delay caused by {who}: apologise to the customer, "
                f"chase the parcel and claim compensation from {who}",
                "cost_bearer": "third_party",
                "responsible_party": "third_party",
            }
        )
    decisions = entitlement(claim, settings)
    if decisions:
        options.extend(_return_options(claim, settings, decisions))
    return options


def _return_options(
    claim: Claim, settings: Settings, decisions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    by_kind = {d["kind"]: d for d in decisions}
    if claim.defect and "exchange" in by_kind and "return" in by_kind:
        return _defect_options(claim, settings, by_kind["return"], by_kind["exchange"])
    decision = decisions[0]
    rule, details = decision["rule"], decision["details"]
    if rule == "no_reason_return.within_window":
        payer = details["return_shipping_payer"]
        refund = _option(
            "refund",
            f"No-reason return (day {details['day']} of {details['return_days']}): refund "
            f"once the goods come back in resaleable condition; the {payer} pays the "
            "return shipping",
            "customer" if payer == "customer" else "company",
        )
        return [_priced(refund, claim, settings)]
    reason = {
        "no_reason_return.excluded": f"{details.get('exclusion')} goods cannot be returned "
        "without a reason",
        "no_reason_return.window_passed": f"day {details.get('day')} is past the "
        f"{details.get('return_days')}-day no-reason return period",
        "no_reason_return.not_resaleable": f"the goods are {claim.item_condition}, not resaleable",
    }.get(rule)
    if reason is None:
        return []  # the received date is missing or wrong: ask for it first
    return [
        _option("explain_policy", f"Decline the no-reason return and explain: {reason}", "customer")
    ]


def _defect_options(
    claim: Claim, settings: Settings, ret: dict[str, Any], exchange: dict[str, Any]
) -> list[dict[str, Any]]:
    day = ret["details"]["day"]
    shipping = "; the merchant pays the return shipping"
    options = []
    if ret["eligible"]:
        refund = _option(
            "refund", f"Take the defective item back and refund it{shipping}", "company"
        )
        options.append(_priced(refund, claim, settings) | {"responsible_party": "internal"})
    if exchange["eligible"]:
        late = "" if ret["eligible"] else f" (day {day}: past the return period)"
        options.append(
            _option("exchange", f"Exchange the defective item{late}{shipping}", "company")
            | {"responsible_party": "internal"}
        )
    if claim.wants_exchange_only:
        options.reverse()
    if not options:
        options.append(
            {
                "solution_type": "warranty_repair",
                "description": f"Day {day}: past the return and exchange periods; refer the "
                "customer to the manufacturer's warranty repair",
                "cost_bearer": "third_party",
                "responsible_party": "third_party",
            }
        )
    return options


def _priced(option: dict[str, Any], claim: Claim, settings: Settings) -> dict[str, Any]:
    if claim.order_amount is None:
        return option
    return option | {"amount": claim.order_amount, "currency": settings.currency}


def _option(solution_type: str, description: str, cost_bearer: str) -> dict[str, Any]:
    return {"solution_type": solution_type, "description": description, "cost_bearer": cost_bearer}


def classification(claim: Claim, settings: Settings) -> dict[str, Any] | None:
    """A logistics-delay category suggestion for an uncategorised case whose text says so."""
    if claim.category_code is not None:
        return None
    if not is_logistics_delay(claim, settings.logistics_category):
        return None
    carrier = carrier_of(claim)
    reason = "the text describes a delivery delay"
    if carrier:
        reason += f" (carrier: {carrier})"
    return {"category": {"code": settings.logistics_category, "reason": reason, "confidence": 0.8}}


def intake_issues(claim: Claim, settings: Settings) -> list[dict[str, Any]]:
    """A received date after the day of the request refuses the intake; a return request
    without a received date, or a no-reason return without the item's condition, gets a
    warning."""
    issues: list[dict[str, Any]] = []
    if claim.received_date is not None and claim.received_date > claim.request_date:
        issues.append(
            {
                "field": "extra.received_date",
                "message": f"the received date {claim.received_date.isoformat()} lies after "
                f"the day of the request ({claim.request_date.isoformat()})",
                "level": "error",
            }
        )
    if claim.about_return and claim.received_date is None:
        issues.append(
            {
                "field": "extra.received_date",
                "message": "a return or exchange needs the day the goods were received",
                "level": "warning",
            }
        )
    if claim.about_return and not claim.defect and claim.item_condition is None:
        issues.append(
            {
                "field": "extra.item_condition",
                "message": "condition of the goods not given: a no-reason return is "
                "granted subject to inspection",
                "level": "warning",
            }
        )
    return issues


_REFUNDS = ("refund", "return", "return_refund")


def lifecycle_flags(
    claim: Claim,
    settings: Settings,
    *,
    to_status: str | None,
    from_status: str | None,
    resolution: dict[str, Any] | None,
) -> list[str]:
    """Labels for the timeline when a case is resolved against the plugin's findings:
    a delivery delay not put on the carrier, a refund the return rules do not grant."""
    if to_status != "resolved" or from_status == to_status or not resolution:
        return []
    labels = []
    logistics = is_logistics_delay(claim, settings.logistics_category)
    if logistics and resolution.get("responsible_party") != "third_party":
        who = carrier_of(claim) or "the carrier"
        labels.append(f"Delivery delay resolved without naming {who} as responsible")
    if str(resolution.get("solution_type") or "") in _REFUNDS:
        decisions = entitlement(claim, settings) or []
        returns = [d for d in decisions if d["kind"] == "return"]
        if returns and not any(d["eligible"] for d in returns):
            labels.append(f"Refund outside the return rules ({returns[0]['rule']})")
    return labels
