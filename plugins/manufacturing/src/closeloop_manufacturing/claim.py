"""What the rules need of a case, read once: a `Claim` of plain values.

The claim date is the local date (tenant's time zone) on which the case was received:
a warranty is judged on the day the customer raised it. The purchase date comes from
`product.purchase_date`, else from `extra.purchase_date`. The proof of purchase is
`extra.proof_of_purchase`; when that is absent, a warranty card number in the product
counts as `warranty_card` and an order number as `order`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from closeloop.plugins.helpers import field, local_date, parse_date

__all__ = [
    "FAULT_CAUSES",
    "PROOFS",
    "Claim",
    "claim_from_case",
    "field",
    "local_date",
    "parse_date",
]

PROOFS = ("order", "invoice", "warranty_card", "none")
FAULT_CAUSES = ("quality_defect", "wear", "misuse", "not_reproducible")
PRODUCT_KINDS = ("complaint", "service_request")


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    kind: str
    claim_date: dt.date
    purchase_date: dt.date | None = None
    purchase_date_field: str = "product.purchase_date"
    proof: str | None = None  # one of PROOFS, None when nothing says
    fault_cause: str | None = None
    product_line: str | None = None
    model: str | None = None
    batch: str | None = None
    previous_repairs: int = 0
    repair_quote: float | None = None
    has_product: bool = False

    @property
    def about_product(self) -> bool:
        """A complaint or service request that names a product or a manufacturing field."""
        return self.kind in PRODUCT_KINDS and self.has_product


def claim_from_case(case: Any, timezone: str | None) -> Claim:
    product: Mapping[str, Any] = field(case, "product") or {}
    extra: Mapping[str, Any] = field(case, "extra") or {}
    purchase = parse_date(product.get("purchase_date"))
    where = "product.purchase_date"
    if purchase is None:
        purchase = parse_date(extra.get("purchase_date"))
        where = "extra.purchase_date"
    proof = extra.get("proof_of_purchase")
    if proof not in PROOFS:
        proof = None
    if proof is None:
        if product.get("warranty_card"):
            proof = "warranty_card"
        elif product.get("order_number"):
            proof = "order"
    cause = extra.get("fault_cause")
    repairs: Any = extra.get("previous_repairs")
    quote: Any = extra.get("repair_quote")
    ours = ("purchase_date", "proof_of_purchase", "fault_cause", "product_line")
    return Claim(
        kind=str(field(case, "kind") or ""),
        claim_date=local_date(field(case, "received_at"), timezone),
        purchase_date=purchase,
        purchase_date_field=where,
        proof=proof,
        fault_cause=cause if cause in FAULT_CAUSES else None,
        product_line=_text(extra.get("product_line")),
        model=_text(product.get("model")),
        batch=_text(product.get("batch")),
        previous_repairs=int(repairs) if _count(repairs) else 0,
        repair_quote=float(quote) if _number(quote) else None,
        has_product=bool(product) or any(extra.get(name) is not None for name in ours),
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
