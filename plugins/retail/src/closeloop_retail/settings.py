"""The retail plugin's per-tenant settings (validated by the core against this struct)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["DEFAULT_EXCLUSIONS", "Settings"]

Days = Annotated[int, msgspec.Meta(ge=0, le=365)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]

DEFAULT_EXCLUSIONS = ("custom_made", "perishable", "opened_digital")


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a retailer tenant decides for itself.

    * `no_reason_return_days`: a return without a reason is allowed through day N after
      receipt (day 0 = the day the goods were received; default 7).
    * `quality_return_days` / `quality_exchange_days`: a defective item may be returned
      through day N (default 7) and exchanged through day M (default 15).
    * `exclusions`: goods categories (`extra.goods_category`) never taken back without a
      reason. `opened_digital` is special: it matches an item of a `digital_categories`
      category whose condition is `opened`. Exclusions never refuse a defect return.
    * `no_reason_shipping_payer`: who pays the return shipping of a no-reason return
      (`customer` by default); the merchant always pays it for a defective item.
    * `currency`: the currency of order amounts and refunds (ISO 4217).
    * `logistics_category`: the tenant's category code for logistics delays; such
      complaints name the carrier as the responsible third party.
    """

    no_reason_return_days: Days = 7
    quality_return_days: Days = 7
    quality_exchange_days: Days = 15
    # tuples: a default the settings schema can show (msgspec forbids non-empty lists)
    exclusions: tuple[Code, ...] = DEFAULT_EXCLUSIONS
    digital_categories: tuple[Code, ...] = ("digital", "software", "digital_content")
    no_reason_shipping_payer: Literal["customer", "merchant"] = "customer"
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "CNY"
    logistics_category: Code = "logistics_delay"
