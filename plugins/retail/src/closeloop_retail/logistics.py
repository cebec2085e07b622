"""Is a case a logistics-delay complaint, and which carrier is it about?

A case is one when its category is the tenant's logistics category (or below it), or,
when staff have not filed it under another category, when one clause of its title or
description pairs a delivery word with a delay word ("快递延误", "物流太慢了",
"delivery was late", "parcel lost"). The carrier is `extra.carrier`, else a well-known
carrier named in the text.
"""

from __future__ import annotations

import re

from closeloop_retail.claim import Claim, in_category

__all__ = ["KNOWN_CARRIERS", "carrier_of", "is_logistics_delay", "mentions_delay"]

_SHIPPING = (
    r"(?:物流|快递|配送|送货|派送|包裹|运单|delivery|shipping|shipment|parcel|package|courier)"
)
_DELAY = (
    r"(?:延误|延迟|迟迟|太慢|很慢|慢|未到|没到|还没到|未收到|没收到|未送达|未派送|丢失|丢件|超时|滞留|"
    r"delay(?:ed)?|late|lost|overdue|not (?:yet )?(?:arrived|delivered)|never (?:arrived|came))"
)
# Within one clause: no sentence or clause punctuation between the two words.
_CLAUSE = r"[^。!?;,,.!?;\n]{0,16}"
_PATTERN = re.compile(
    rf"{_SHIPPING}{_CLAUSE}{_DELAY}|{_DELAY}{_CLAUSE}{_SHIPPING}|(?:late|delayed) delivery",
    re.IGNORECASE,
)

KNOWN_CARRIERS = (
    "顺丰",
    "京东物流",
    "中通",
    "圆通",
    "申通",
    "韵达",
    "极兔",
    "德邦",
    "EMS",
    "中国邮政",
    "SF Express",
    "DHL",
    "FedEx",
    "UPS",
)


def mentions_delay(text: str) -> bool:
    return _PATTERN.search(text) is not None


def is_logistics_delay(claim: Claim, logistics_category: str) -> bool:
    if in_category(claim.category_code, logistics_category):
        return True
    if claim.category_code is not None:
        return False  # staff filed it elsewhere; the text does not overrule them
    return mentions_delay(claim.text)


_CARRIER_PATTERNS = [
    # An ASCII name must stand alone ("UPS", not "groups"), also right beside Chinese.
    (name, re.compile(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", re.IGNORECASE))
    for name in KNOWN_CARRIERS
]


def carrier_of(claim: Claim) -> str | None:
    if claim.carrier:
        return claim.carrier
    for name, pattern in _CARRIER_PATTERNS:
        if pattern.search(claim.text):
            return name
    return None
