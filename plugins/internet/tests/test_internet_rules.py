"""The internet-service rules on plain values: the P1-P4 table at its boundaries, the
mapping onto three and four severity levels, the security floor, classification,
intake checks and the outage key."""

from __future__ import annotations

from typing import Any

import pytest

from closeloop_internet.rules import (
    Limits,
    assess_priority,
    classify_text,
    is_security_case,
    level_for_priority,
    outage_key,
    priority_levels,
    second_highest,
    validate_numbers,
)

THREE = [("general", 1), ("important", 2), ("major", 3)]
FOUR = [("p4", 10), ("p3", 20), ("p2", 30), ("p1", 40)]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # reach alone, at each boundary of the default thresholds
        ({}, "P4"),
        ({"scope": "single_user", "affected_users": 1}, "P4"),
        ({"affected_users": 9}, "P4"),
        ({"affected_users": 10}, "P3"),
        ({"affected_users": 999}, "P3"),
        ({"affected_users": 1_000}, "P2"),
        ({"affected_users": 9_999}, "P2"),
        ({"affected_users": 10_000}, "P1"),
        ({"scope": "region"}, "P2"),
        ({"scope": "region", "affected_users": 3}, "P2"),
        ({"scope": "all"}, "P1"),
        ({"affected_users": -5}, "P4"),  # refused at intake; never a reach
        # each aggravating fact raises one level
        ({"affected_users": 10, "duration_minutes": 239}, "P3"),
        ({"affected_users": 10, "duration_minutes": 240}, "P2"),
        ({"affected_users": 10, "service_tier": "enterprise"}, "P2"),
        ({"affected_users": 10, "service_tier": "standard"}, "P3"),
        ({"affected_users": 10, "service_tier": "free"}, "P3"),
        ({"affected_users": 10, "payment_impact": True}, "P2"),
        ({"affected_users": 10, "data_exposure": True}, "P2"),
        # at most two levels together, never above P1
        ({"service_tier": "enterprise", "payment_impact": True}, "P2"),
        (
            {
                "scope": "single_user",
                "service_tier": "enterprise",
                "payment_impact": True,
                "data_exposure": True,
                "duration_minutes": 600,
            },
            "P2",
        ),
        ({"scope": "region", "payment_impact": True, "data_exposure": True}, "P1"),
        ({"scope": "all", "payment_impact": True}, "P1"),
    ],
)
def test_priority_table(facts: dict[str, Any], expected: str) -> None:
    assert assess_priority(**facts).priority == expected


def test_priority_reasons_name_the_facts_that_decided_it() -> None:
    result = assess_priority(affected_users=1_200, duration_minutes=300, payment_impact=True)
    assert result.priority == "P1"
    assert result.reasons[0] == "1200 users affected (P2 from 1000)"
    assert "+1 level: lasting 300 min (from 240)" in result.reasons
    assert "payments affected (no raise left)" in result.reasons


def test_thresholds_are_configurable() -> None:
    limits = Limits(p1_users=500, p2_users=50, p3_users=5, long_outage_minutes=30, max_raise=1)
    assert assess_priority(affected_users=5, limits=limits).priority == "P3"
    assert assess_priority(affected_users=50, limits=limits).priority == "P2"
    assert assess_priority(affected_users=500, limits=limits).priority == "P1"
    raised = assess_priority(duration_minutes=30, payment_impact=True, limits=limits)
    assert raised.priority == "P3"  # max_raise 1


@pytest.mark.parametrize(
    ("priority", "three", "four"),
    [
        ("P1", "major", "p1"),
        ("P2", "important", "p2"),
        ("P3", "general", "p3"),
        ("P4", "general", "p4"),
    ],
)
def test_priorities_map_by_rank(priority: str, three: str, four: str) -> None:
    assert level_for_priority(priority, THREE) == three
    assert level_for_priority(priority, FOUR) == four
    # the order the levels come in does not matter, only their ranks
    assert level_for_priority(priority, list(reversed(FOUR))) == four


def test_mapping_for_fewer_and_more_levels() -> None:
    assert priority_levels([("low", 1), ("high", 2)]) == {
        "P1": "high",
        "P2": "low",
        "P3": "low",
        "P4": "low",
    }
    five = [("l1", 1), ("l2", 2), ("l3", 3), ("l4", 4), ("l5", 5)]
    assert priority_levels(five) == {"P1": "l5", "P2": "l4", "P3": "l3", "P4": "l1"}
    assert priority_levels([("only", 1)]) == dict.fromkeys(("P1", "P2", "P3", "P4"), "only")
    assert priority_levels([]) == {}
    assert level_for_priority("P1", []) is None


def test_mapping_overrides_name_tenant_levels() -> None:
    overrides = {"P3": "important", "P4": "no-such-level"}
    assert level_for_priority("P3", THREE, overrides) == "important"
    assert level_for_priority("P4", THREE, overrides) == "general"  # unknown code: by rank
    assert level_for_priority("P1", THREE, overrides) == "major"


def test_second_highest_level() -> None:
    assert second_highest(THREE) == "important"
    assert second_highest(FOUR) == "p2"
    assert second_highest([("only", 1)]) == "only"
    assert second_highest([]) is None


@pytest.mark.parametrize(
    ("category", "exposure", "expected"),
    [
        ("information_security", False, True),
        ("information_security.privacy", False, True),
        ("information_securityx", False, False),
        ("system_failure", True, True),
        ("system_failure", False, False),
        (None, False, False),
    ],
)
def test_security_case(category: str | None, exposure: bool, expected: bool) -> None:
    assert is_security_case(category, exposure, ["information_security"]) is expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("APP 一直闪退,无法登录,已经两个小时", "system_failure"),
        ("The website is down since 9am, error 503 on every page", "system_failure"),
        ("本月被重复扣费两次,要求退款", "billing_dispute"),
        ("I was charged twice for my subscription, please refund", "billing_dispute"),
        ("我的账号被盗,个人信息泄露", "information_security"),
        ("My account was hacked and my personal data leaked", "information_security"),
    ],
)
def test_classify_text(text: str, code: str) -> None:
    suggestion = classify_text(text)
    assert suggestion is not None
    assert suggestion.code == code
    assert suggestion.reason.startswith("keywords: ")
    assert 0.2 <= suggestion.confidence <= 0.9


def test_classify_text_confidence_and_words() -> None:
    one = classify_text("服务中断")
    three = classify_text("服务中断,打不开,报错")
    assert one is not None
    assert three is not None
    assert one.confidence == 0.5
    assert three.confidence == 0.8
    mixed = classify_text("服务中断,打不开,要求退款")
    assert mixed is not None
    assert (mixed.code, mixed.confidence) == ("system_failure", 0.55)
    assert classify_text("download the breakdown") is None  # English words, not substrings
    assert classify_text("快递很慢") is None


def test_validate_numbers() -> None:
    assert validate_numbers({"affected_users": 3, "duration_minutes": 0}) == []
    assert validate_numbers({"affected_users": -1, "duration_minutes": -0.5}) == [
        ("extra.affected_users", "affected_users cannot be negative (-1)", "error"),
        ("extra.duration_minutes", "duration_minutes cannot be negative (-0.5)", "error"),
    ]
    assert validate_numbers({"scope": "single_user", "affected_users": 40}) == [
        ("extra.scope", "scope single_user but 40 affected users", "warning")
    ]
    assert validate_numbers({"affected_users": True}) == []  # a type error, not a sign


@pytest.mark.parametrize(
    ("service", "region", "scope", "key"),
    [
        ("Cloud Storage", "East China", "region", "outage:cloud-storage:east-china"),
        ("cdn", "  ", None, "outage:cdn:all"),
        ("cdn", "beijing", "all", "outage:cdn:all"),
        (None, "beijing", "region", None),
        ("  ", "beijing", "region", None),
    ],
)
def test_outage_key(
    service: str | None, region: str | None, scope: str | None, key: str | None
) -> None:
    assert outage_key(service, region, scope) == key
