"""The internet-service rules as pure functions: no Closeloop import, no I/O.

The hook implementations in `closeloop_internet.hooks` only adapt the core's case
snapshot, the tenant and the plugin settings to these functions, so every rule can be
tested on plain values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "CATEGORY_KEYWORDS",
    "PRIORITIES",
    "SCOPES",
    "TIERS",
    "Assessment",
    "Limits",
    "Suggestion",
    "assess_priority",
    "classify_text",
    "is_security_case",
    "level_for_priority",
    "outage_key",
    "priority_levels",
    "second_highest",
    "validate_numbers",
]

PRIORITIES = ("P1", "P2", "P3", "P4")
SCOPES = ("single_user", "region", "all")
TIERS = ("free", "standard", "enterprise")


@dataclasses.dataclass(frozen=True)
class Limits:
    """The thresholds of the priority table (the plugin's settings carry them)."""

    p1_users: int = 10_000
    p2_users: int = 1_000
    p3_users: int = 10
    long_outage_minutes: int = 240
    max_raise: int = 2


@dataclasses.dataclass(frozen=True)
class Assessment:
    """A priority (`P1` highest .. `P4` lowest) and why."""

    priority: str
    reasons: list[str]


def assess_priority(
    *,
    affected_users: int | None = None,
    scope: str | None = None,
    duration_minutes: int | None = None,
    service_tier: str | None = None,
    data_exposure: bool = False,
    payment_impact: bool = False,
    limits: Limits = Limits(),
) -> Assessment:
    """The incident priority from its reach, then raised by aggravating facts.

    Reach gives the base: P1 when the whole service is down (`scope = all`) or at least
    `p1_users` users are affected; P2 for a region or at least `p2_users`; P3 for at
    least `p3_users`; else P4. Each of a long outage (at least `long_outage_minutes`),
    the enterprise tier, payments affected and data exposed raises it one level, by at
    most `max_raise` levels together, never above P1.
    """
    users = affected_users if affected_users is not None and affected_users >= 0 else None
    reasons: list[str] = []
    if scope == "all":
        base, reasons = 1, ["the whole service is affected (scope all)"]
    elif users is not None and users >= limits.p1_users:
        base, reasons = 1, [f"{users} users affected (P1 from {limits.p1_users})"]
    elif scope == "region":
        base, reasons = 2, ["a region is affected (scope region)"]
    elif users is not None and users >= limits.p2_users:
        base, reasons = 2, [f"{users} users affected (P2 from {limits.p2_users})"]
    elif users is not None and users >= limits.p3_users:
        base, reasons = 3, [f"{users} users affected (P3 from {limits.p3_users})"]
    else:
        who = "a single user" if scope == "single_user" or users in (0, 1) else "reach unknown"
        base, reasons = 4, [f"{who} (P4)"]

    raises: list[str] = []
    if duration_minutes is not None and duration_minutes >= limits.long_outage_minutes:
        raises.append(f"lasting {duration_minutes} min (from {limits.long_outage_minutes})")
    if service_tier == "enterprise":
        raises.append("enterprise service tier")
    if payment_impact:
        raises.append("payments affected")
    if data_exposure:
        raises.append("customer data exposed")
    allowed = min(max(limits.max_raise, 0), base - 1)
    for count, reason in enumerate(raises):
        reasons.append(f"+1 level: {reason}" if count < allowed else f"{reason} (no raise left)")
    priority = base - min(len(raises), allowed)
    return Assessment(priority=f"P{priority}", reasons=reasons)


# ---- priorities to the tenant's severity levels ---------------------------------------


def priority_levels(levels: Sequence[tuple[str, int]]) -> dict[str, str]:
    """The default mapping of P1..P4 onto the tenant's levels `(code, rank)`, by rank.

    P1 is the highest level, P4 the lowest, P2 the second highest and P3 the third
    highest; counting down stops at the lowest level. With three levels P3 and P4 both
    map to the lowest; with four, one each; with five or more the levels between the
    third highest and the lowest are not used.
    """
    ordered = [code for code, _rank in sorted(levels, key=lambda level: -level[1])]
    if not ordered:
        return {}
    lowest = len(ordered) - 1
    mapping = {f"P{n}": ordered[min(n - 1, lowest)] for n in (1, 2, 3)}
    mapping["P4"] = ordered[lowest]
    return mapping


def level_for_priority(
    priority: str, levels: Sequence[tuple[str, int]], overrides: Mapping[str, str] | None = None
) -> str | None:
    """The tenant's severity code for `priority`: `overrides[priority]` when it names one
    of the tenant's levels, else the default mapping by rank."""
    codes = {code for code, _rank in levels}
    chosen = (overrides or {}).get(priority)
    if chosen in codes:
        return chosen
    return priority_levels(levels).get(priority)


def second_highest(levels: Sequence[tuple[str, int]]) -> str | None:
    """The second-highest level (the only one when the tenant has one)."""
    ordered = [code for code, _rank in sorted(levels, key=lambda level: -level[1])]
    return ordered[min(1, len(ordered) - 1)] if ordered else None


def is_security_case(
    category_code: str | None, data_exposure: bool, security_categories: Sequence[str]
) -> bool:
    """A data-security complaint: data exposed, or filed under a security category (or a
    sub-category of one: `information_security.privacy`)."""
    if data_exposure:
        return True
    if not category_code:
        return False
    return any(
        category_code == code or category_code.startswith(f"{code}.")
        for code in security_categories
    )


# ---- classification from the text ----------------------------------------------------

CATEGORY_KEYWORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # category: (Chinese keywords, matched as substrings; English, matched as words)
    "information_security": (
        (
            "泄露",
            "泄漏",
            "被盗",
            "盗号",
            "诈骗",
            "钓鱼",
            "冒充",
            "仿冒",
            "隐私",
            "个人信息",
            "异地登录",
            "未经授权",
            "被篡改",
        ),
        (
            "leak",
            "leaked",
            "breach",
            "hacked",
            "stolen",
            "phishing",
            "fraud",
            "scam",
            "privacy",
            "personal data",
            "unauthorized",
            "unauthorised",
            "account takeover",
            "compromised",
        ),
    ),
    "system_failure": (
        (
            "无法访问",
            "打不开",
            "宕机",
            "故障",
            "崩溃",
            "闪退",
            "掉线",
            "断网",
            "连不上",
            "无法登录",
            "登录不上",
            "服务中断",
            "报错",
            "卡顿",
            "加载失败",
            "数据丢失",
            "无法使用",
        ),
        (
            "outage",
            "down",
            "cannot access",
            "can't access",
            "unable to connect",
            "crash",
            "crashes",
            "crashed",
            "error 500",
            "502",
            "503",
            "timeout",
            "timed out",
            "not loading",
            "unavailable",
            "disconnected",
            "data loss",
        ),
    ),
    "billing_dispute": (
        (
            "扣费",
            "扣款",
            "多扣",
            "重复扣",
            "乱收费",
            "自动续费",
            "退款",
            "账单",
            "计费",
            "收费",
            "充值",
        ),
        (
            "charged",
            "overcharged",
            "double charge",
            "billing",
            "bill",
            "invoice",
            "refund",
            "subscription",
            "auto-renew",
            "auto-renewal",
            "renewal",
            "fee",
            "fees",
        ),
    ),
}
# Ties go to the category listed first: security outranks outage outranks billing.


@dataclasses.dataclass(frozen=True)
class Suggestion:
    code: str
    reason: str
    confidence: float


def _matches(text: str, zh: Sequence[str], en: Sequence[str]) -> list[str]:
    lowered = text.lower()
    found = [word for word in zh if word in text]
    found += [word for word in en if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered)]
    return found


def classify_text(text: str) -> Suggestion | None:
    """The category the text points to, with the keywords that decided it.

    Confidence is 0.35 + 0.15 per distinct keyword found, at most 0.9, less 0.1 per
    keyword of another category also found, never below 0.2. None when nothing matched.
    """
    hits = {code: _matches(text, zh, en) for code, (zh, en) in CATEGORY_KEYWORDS.items()}
    best = max(hits, key=lambda code: len(hits[code]))  # first wins a tie
    if not hits[best]:
        return None
    others = sum(len(found) for code, found in hits.items() if code != best)
    confidence = min(0.9, 0.35 + 0.15 * len(hits[best])) - 0.1 * others
    words = ", ".join(hits[best])
    return Suggestion(
        code=best, reason=f"keywords: {words}", confidence=round(max(0.2, confidence), 2)
    )


# ---- intake checks and correlation ----------------------------------------------------


def validate_numbers(extra: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """`(field, message, level)` issues: negative counts and durations are errors;
    more than one affected user on a single-user scope is a warning."""
    issues: list[tuple[str, str, str]] = []
    for name in ("affected_users", "duration_minutes"):
        value = extra.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            issues.append((f"extra.{name}", f"{name} cannot be negative ({value})", "error"))
    users = extra.get("affected_users")
    if extra.get("scope") == "single_user" and isinstance(users, int) and users > 1:
        issues.append(("extra.scope", f"scope single_user but {users} affected users", "warning"))
    return issues


def _slug(text: str) -> str:
    return re.sub(r"\s+", "-", text.strip().lower())


def outage_key(service: str | None, region: str | None, scope: str | None) -> str | None:
    """`outage:<service>:<region>` for an outage report naming its service; the region
    is `all` when the whole service is down or no region is given."""
    if not service or not service.strip():
        return None
    place = "all" if scope == "all" or not region or not region.strip() else _slug(region)
    return f"outage:{_slug(service)}:{place}"
