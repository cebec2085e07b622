"""What the rules need of a case, read once: a `Claim` of plain values.

The request date is the local date (tenant's time zone) on which the case was received;
`extra.received_date` is the day the customer received the goods. `extra.defect` says
whether the item is defective; when it is not given, a case filed under a
`product_quality` or `returns.defective` category counts as defective.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from closeloop.plugins.helpers import field, local_date, parse_date

__all__ = [
    "CONDITIONS",
    "RETURN_DEMANDS",
    "Claim",
    "claim_from_case",
    "field",
    "local_date",
    "parse_date",
]

CONDITIONS = ("resaleable", "opened", "damaged")
RETURN_DEMANDS = frozenset({"refund", "return_goods", "exchange"})
_DEFECT_CATEGORIES = ("product_quality", "returns.defective")


def in_category(code: str | None, root: str) -> bool:
    return code is not None and (code == root or code.startswith(root + "."))


@dataclasses.dataclass(frozen=True, slots=True)
class Claim:
    kind: str
    request_date: dt.date
    received_date: dt.date | None = None
    item_condition: str | None = None
    goods_category: str | None = None
    defect: bool = False
    carrier: str | None = None
    order_amount: float | None = None
    demands: tuple[str, ...] = ()
    category_code: str | None = None
    text: str = ""

    @property
    def wants_exchange_only(self) -> bool:
        return "exchange" in self.demands and not {"refund", "return_goods"} & set(self.demands)

    @property
    def about_return(self) -> bool:
        """The case asks to send goods back (or the goods are defective)."""
        return (
            self.defect
            or bool(RETURN_DEMANDS & set(self.demands))
            or in_category(self.category_code, "returns")
            or in_category(self.category_code, "exchange")
            or self.item_condition is not None
        )


def claim_from_case(case: Any, timezone: str | None) -> Claim:
    extra: Mapping[str, Any] = field(case, "extra") or {}
    category = field(case, "category_code")
    defect = extra.get("defect")
    if not isinstance(defect, bool):
        defect = any(in_category(category, root) for root in _DEFECT_CATEGORIES)
    condition = extra.get("item_condition")
    amount = extra.get("order_amount")
    title = field(case, "title") or ""
    description = field(case, "description") or ""
    return Claim(
        kind=str(field(case, "kind") or ""),
        request_date=local_date(field(case, "received_at"), timezone),
        received_date=parse_date(extra.get("received_date")),
        item_condition=condition if condition in CONDITIONS else None,
        goods_category=_text(extra.get("goods_category")),
        defect=defect,
        carrier=_text(extra.get("carrier")),
        order_amount=(
            float(amount)
            if isinstance(amount, int | float) and not isinstance(amount, bool) and amount >= 0
            else None
        ),
        demands=tuple(str(d) for d in field(case, "demands") or ()),
        category_code=category,
        text=f"{title}\n{description}",
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
