"""The manufacturing plugin's per-tenant settings (validated by the core against this struct)."""

from __future__ import annotations

from typing import Annotated

import msgspec

__all__ = ["Settings"]

Months = Annotated[int, msgspec.Meta(ge=0, le=240)]
Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What a manufacturer tenant decides for itself.

    * `warranty_months`: the warranty of a product line the map does not name.
    * `warranty_months_by_line`: product line (`extra.product_line`) → warranty months,
      e.g. `{"compressor": 36, "small_appliance": 12}`.
    * `require_proof`: a warranty claim needs a proof of purchase (order, invoice or
      warranty card); without one the claim is not eligible and intake gets a warning.
    * `doa_days`: a quality defect within this many days of purchase (day 0 = the
      purchase day) is "defective on arrival" and gets a free replacement.
    * `replacement_after_repairs`: a quality defect after this many earlier repairs
      of the same fault gets a free replacement instead of another repair.
    * `batch_alert_threshold` / `batch_alert_window_days`: this many quality-defect
      cases on one production batch within the window raise a batch alert.
    * `currency`: the currency of repair quotes (ISO 4217).
    """

    warranty_months: Months = 12
    warranty_months_by_line: dict[str, Months] = {}
    require_proof: bool = True
    doa_days: Days = 15
    replacement_after_repairs: Annotated[int, msgspec.Meta(ge=1, le=100)] = 2
    batch_alert_threshold: Annotated[int, msgspec.Meta(ge=2, le=10_000)] = 3
    batch_alert_window_days: Annotated[int, msgspec.Meta(ge=1, le=365)] = 30
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")] = "CNY"

    def months_for(self, product_line: str | None) -> int:
        if product_line and product_line in self.warranty_months_by_line:
            return self.warranty_months_by_line[product_line]
        return self.warranty_months
