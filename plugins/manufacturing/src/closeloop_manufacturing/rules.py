"""The manufacturing rules as pure functions of a `Claim` and the tenant's `Settings`.

Boundaries (all dates are calendar dates in the tenant's time zone):

* **Warranty.** A product bought on day P with an M-month warranty is covered from P
  through the day before the same calendar day M months later; when that month has no
  such day (bought 31 January, 1 month), through the last day of that month.
  So 2025-03-15 + 12 months is covered through 2026-03-14 inclusive, and a claim
  received on 2026-03-15 is out of warranty. The claim date is the day the case was
  received, in the tenant's time zone.
* **Defective on arrival.** Day 0 is the purchase day; a quality defect on day
  `doa_days` (default 15) or earlier gets a replacement, on day 16 a repair.
* **Proof of purchase.** With `require_proof`, a claim without an order, invoice or
  warranty card is not eligible (rule `warranty.proof_missing`).

Each function returns the plain-dict shapes of the hook contract (`Entitlement`,
`ResolutionOption`, `FieldIssue`, `Correlation`, `FieldSpec`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from closeloop_manufacturing.claim import FAULT_CAUSES, PROOFS, Claim
from closeloop_manufacturing.settings import Settings

__all__ = [
    "batch_correlation",
    "entitlement",
    "extra_field_specs",
    "intake_issues",
    "lifecycle_flags",
    "resolution_options",
    "warranty_last_day",
]


def warranty_last_day(purchase: dt.date, months: int) -> dt.date:
    """The last day a product bought on `purchase` is covered by an `months`-month warranty.

    `months == 0` means no warranty: the last day is the day before the purchase."""
    index = purchase.month - 1 + months
    year, month = purchase.year + index // 12, index % 12 + 1
    days_in_month = calendar.monthrange(year, month)[1]
    if purchase.day > days_in_month:  # no such day: covered through the month's end
        return dt.date(year, month, days_in_month)
    return dt.date(year, month, purchase.day) - dt.timedelta(days=1)


def extra_field_specs(kind: str) -> list[dict[str, Any]]:
    """The case fields this plugin reads (`extra[name]`), for complaints and service requests."""
    if kind not in ("complaint", "service_request"):
        return []
    return [
        {
            "name": "purchase_date",
            "type": "date",
            "required": False,
            "description": "Purchase date, when the product does not give it",
        },
        {
            "name": "proof_of_purchase",
            "type": "enum",
            "required": False,
            "choices": list(PROOFS),
            "description": "What proves the purchase: order, invoice, warranty card or none",
        },
        {
            "name": "fault_cause",
            "type": "enum",
            "required": False,
            "choices": list(FAULT_CAUSES),
            "description": "Diagnosed cause: quality defect, wear, misuse or not reproducible",
        },
        {
            "name": "product_line",
            "type": "string",
            "required": False,
            "description": "Product line; decides the warranty period",
        },
        {
            "name": "previous_repairs",
            "type": "integer",
            "required": False,
            "description": "Earlier repairs of the same fault on this unit",
        },
        {
            "name": "repair_quote",
            "type": "number",
            "required": False,
            "description": "Quoted price of a paid repair",
        },
    ]


def entitlement(claim: Claim, settings: Settings) -> dict[str, Any] | None:
    """The warranty decision, or None for a case that is not about a product."""
    if not claim.about_product:
        return None
    months = settings.months_for(claim.product_line)
    details: dict[str, Any] = {
        "claim_date": claim.claim_date.isoformat(),
        "warranty_months": months,
        "product_line": claim.product_line,
        "proof_of_purchase": claim.proof,
    }
    if claim.purchase_date is None:
        return _warranty(False, "warranty.purchase_date_unknown", details)
    last_day = warranty_last_day(claim.purchase_date, months)
    days = (claim.claim_date - claim.purchase_date).days
    details |= {
        "purchase_date": claim.purchase_date.isoformat(),
        "last_day": last_day.isoformat(),
        "days_since_purchase": days,
        "days_left": (last_day - claim.claim_date).days,
    }
    if days < 0:
        return _warranty(False, "warranty.purchase_date_in_future", details)
    if claim.claim_date > last_day:
        return _warranty(False, "warranty.expired", details)
    if settings.require_proof and claim.proof in (None, "none"):
        return _warranty(False, "warranty.proof_missing", details)
    return _warranty(True, "warranty.in_warranty", details)


def _warranty(eligible: bool, rule: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "warranty", "eligible": eligible, "rule": rule, "details": details}


def resolution_options(claim: Claim, settings: Settings) -> list[dict[str, Any]]:
    """Solution options, the recommended one first, each with who bears the cost."""
    decision = entitlement(claim, settings)
    if decision is None:
        return []
    covered = bool(decision["eligible"])
    why = _why_not(decision)
    cause = claim.fault_cause
    if cause is None:
        return [
            _option(
                "inspection",
                "Inspect the unit to find the fault cause"
                + (" (in warranty: free)" if covered else f" ({why}: the customer pays)"),
                "company" if covered else "customer",
            )
        ]
    if cause == "not_reproducible":
        return [
            _option(
                "usage_guidance",
                "The fault could not be reproduced: explain correct use and settings",
                "company",
                responsible_party="customer",
            )
        ]
    if cause == "quality_defect" and covered:
        repair = _option("free_repair", "Repair the quality defect free of charge", "company")
        repair["responsible_party"] = "internal"
        days = int(decision["details"]["days_since_purchase"])
        if days <= settings.doa_days:
            reason = f"defective on arrival (day {days} after purchase, limit {settings.doa_days})"
        elif claim.previous_repairs >= settings.replacement_after_repairs:
            reason = f"repeat failure after {claim.previous_repairs} repairs"
        else:
            return [repair]
        replacement = _option(
            "free_replacement", f"Replace the unit free of charge: {reason}", "company"
        )
        replacement["responsible_party"] = "internal"
        return [replacement, repair]
    if cause == "quality_defect":
        reason = why
    else:
        reason = "wear and tear" if cause == "wear" else "damage from misuse"
    paid = _option(
        "paid_repair",
        f"Paid repair ({reason}); give the customer a quote before repairing",
        "customer",
        responsible_party="customer" if cause == "misuse" else None,
    )
    if claim.repair_quote is not None:
        paid |= {"amount": claim.repair_quote, "currency": settings.currency}
    else:
        paid["description"] += " (no quote yet)"
    return [paid]


def _why_not(decision: dict[str, Any]) -> str:
    return {
        "warranty.purchase_date_unknown": "purchase date unknown",
        "warranty.purchase_date_in_future": "purchase date after the claim",
        "warranty.expired": f"warranty ended {decision['details'].get('last_day')}",
        "warranty.proof_missing": "no proof of purchase",
    }.get(str(decision["rule"]), "in warranty")


def _option(
    solution_type: str,
    description: str,
    cost_bearer: str,
    *,
    responsible_party: str | None = None,
) -> dict[str, Any]:
    option: dict[str, Any] = {
        "solution_type": solution_type,
        "description": description,
        "cost_bearer": cost_bearer,
    }
    if responsible_party is not None:
        option["responsible_party"] = responsible_party
    return option


def intake_issues(claim: Claim, settings: Settings) -> list[dict[str, Any]]:
    """A purchase date after the day the case arrives refuses the intake; a missing
    proof of purchase (when the tenant requires one) is a warning."""
    if not claim.about_product:
        return []
    issues: list[dict[str, Any]] = []
    if claim.purchase_date is not None and claim.purchase_date > claim.claim_date:
        issues.append(
            {
                "field": claim.purchase_date_field,
                "message": f"the purchase date {claim.purchase_date.isoformat()} lies after "
                f"the day the case was received ({claim.claim_date.isoformat()})",
                "level": "error",
            }
        )
    if settings.require_proof and claim.proof in (None, "none"):
        issues.append(
            {
                "field": "extra.proof_of_purchase",
                "message": "no proof of purchase (order, invoice or warranty card): "
                "a warranty claim needs one",
                "level": "warning",
            }
        )
    return issues


def batch_correlation(claim: Claim, settings: Settings) -> dict[str, Any] | None:
    """Quality-defect cases on one production batch are linked; enough of them within
    the window raise a batch alert."""
    if claim.fault_cause != "quality_defect" or claim.batch is None:
        return None
    product = f"{claim.model} " if claim.model else ""
    return {
        "key": f"manufacturing.batch:{claim.batch}",
        "label": f"Quality defects in batch {product}{claim.batch}",
        "window_minutes": settings.batch_alert_window_days * 24 * 60,
        "threshold": settings.batch_alert_threshold,
    }


_PAID = ("paid_repair", "paid_replacement")
_FREE = ("free_repair", "free_replacement")


def lifecycle_flags(
    claim: Claim,
    settings: Settings,
    *,
    to_status: str | None,
    from_status: str | None,
    resolution: dict[str, Any] | None,
) -> list[str]:
    """Labels for the timeline after a lifecycle step:

    * resolved with a paid repair although the unit is in warranty with a quality defect;
    * resolved free of charge although the warranty does not cover it;
    * reopened while an in-warranty quality defect (a repeat failure: consider a
      replacement, `replacement_after_repairs`)."""
    decision = entitlement(claim, settings)
    if decision is None or to_status == from_status:
        return []
    covered = bool(decision["eligible"])
    last_day = decision["details"].get("last_day")
    if to_status == "resolved" and resolution:
        solution = str(resolution.get("solution_type") or "")
        if solution in _PAID and covered and claim.fault_cause == "quality_defect":
            return [
                f"Charged a {solution} for a quality defect in warranty (until {last_day}): "
                "the repair should be free"
            ]
        if solution in _FREE and not covered:
            return [f"{solution} outside the warranty ({_why_not(decision)}): needs approval"]
    if to_status == "reopened" and covered and claim.fault_cause == "quality_defect":
        repairs = claim.previous_repairs + 1
        if repairs >= settings.replacement_after_repairs:
            return [
                f"Quality defect back after {repairs} repairs, in warranty until {last_day}: "
                "offer a free replacement"
            ]
        return [f"Quality defect back after a repair, in warranty until {last_day}"]
    return []
