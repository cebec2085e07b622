"""Every tenant's starting SLA policies, from the practice in DESIGN §1.

Three policies, first match wins:

* `critical` (severity 特急 critical): reply within 1 hour, round the clock; a customer
  update every 6 hours; resolved within 2 working days. Its ladder goes straight to
  the customer-service managers (the `supervisor` role): "major → customer-service
  manager directly".
* `urgent` (severity 紧急 urgent): reply within 4 hours; update every 6 working hours;
  resolved within 5 working days. Ladder: handler (the specialist) at 50 %, the lead
  department's head at 80 %, supervisors at the breach: "important → specialist →
  department head".
* `default` (everything else, 普通 normal): reply within 24 hours; update every 6
  working hours; resolved within 10 working days.

All three: contact the customer within 1 working day while the case waits on
information; first feedback within 2 working days of the resolution; the follow-up
call 3 to 5 working days after it; second handling within 24 hours of an unsatisfied
answer or an unresolved follow-up; and a case unresolved after 30 days becomes
critical ("a month unresolved = major") with the supervisors told.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["DEFAULT_POLICIES", "default_policies"]


def _hours(hours: float, unit: str = "calendar") -> dict[str, Any]:
    return {"unit": unit, "hours": hours}


def _days(days: int, earliest: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"unit": "working_days", "days": days}
    if earliest is not None:
        spec["earliest_days"] = earliest
    return spec


def _level(
    target: str, trigger: str, threshold: int, *actions: str, **extra: Any
) -> dict[str, Any]:
    return {
        "target": target,
        "trigger": trigger,
        "threshold": threshold,
        "actions": list(actions),
        **extra,
    }


_COMMON_TARGETS: dict[str, dict[str, Any]] = {
    "customer_contact": _days(1),
    "first_feedback": _days(2),
    "followup": _days(5, earliest=3),
    "second_handling": _hours(24),
}

_COMMON_LEVELS: list[dict[str, Any]] = [
    _level("customer_update", "breach", 0, "notify_handler"),
    _level("customer_contact", "breach", 0, "notify_handler", "notify_supervisors"),
    _level("first_feedback", "breach", 0, "notify_role", role="followup"),
    _level("followup", "breach", 0, "notify_role", "notify_supervisors", role="followup"),
    _level("second_handling", "percent", 50, "notify_handler", "notify_manager"),
    _level("second_handling", "breach", 0, "notify_manager", "notify_supervisors", "flag"),
    # A month unresolved becomes major (critical), and the supervisors hear of it.
    _level(
        "resolution", "age", 30 * 24, "raise_severity", "notify_supervisors",
        severity_code="critical",
    ),
]  # fmt: skip

DEFAULT_POLICIES: list[dict[str, Any]] = [
    {
        "code": "critical",
        "name": "特急 Critical",
        "position": 10,
        "match_severity": "critical",
        "targets": {
            "first_response": _hours(1),
            "customer_update": _hours(6),
            "resolution": _days(2),
            **_COMMON_TARGETS,
        },
        "levels": [
            _level("first_response", "percent", 50, "notify_handler", "notify_supervisors"),
            _level("first_response", "breach", 0, "notify_supervisors", "notify_manager", "flag"),
            _level("resolution", "percent", 50, "notify_supervisors"),
            _level("resolution", "percent", 80, "notify_supervisors", "notify_manager"),
            _level("resolution", "breach", 0, "notify_supervisors", "notify_manager", "flag"),
            *[lv for lv in _COMMON_LEVELS if lv["trigger"] != "age"],
        ],
    },
    {
        "code": "urgent",
        "name": "紧急 Urgent",
        "position": 20,
        "match_severity": "urgent",
        "targets": {
            "first_response": _hours(4),
            "customer_update": _hours(6, "business"),
            "resolution": _days(5),
            **_COMMON_TARGETS,
        },
        "levels": [
            _level("first_response", "percent", 50, "notify_handler"),
            _level("first_response", "percent", 80, "notify_manager"),
            _level("first_response", "breach", 0, "notify_manager", "notify_supervisors", "flag"),
            _level("resolution", "percent", 50, "notify_handler"),
            _level("resolution", "percent", 80, "notify_manager"),
            _level("resolution", "breach", 0, "notify_manager", "notify_supervisors", "flag"),
            _level("resolution", "after_breach", 24, "reassign", "notify_manager"),
            *_COMMON_LEVELS,
        ],
    },
    {
        "code": "default",
        "name": "普通 Normal",
        "position": 1000,
        "is_default": True,
        "targets": {
            "first_response": _hours(24),
            "customer_update": _hours(6, "business"),
            "resolution": _days(10),
            **_COMMON_TARGETS,
        },
        "levels": [
            _level("first_response", "percent", 80, "notify_handler"),
            _level("first_response", "breach", 0, "notify_handler", "notify_supervisors", "flag"),
            _level("resolution", "percent", 80, "notify_handler"),
            _level("resolution", "breach", 0, "notify_handler", "notify_manager", "flag"),
            _level("resolution", "after_breach", 24, "notify_supervisors"),
            *_COMMON_LEVELS,
        ],
    },
]


def default_policies() -> list[dict[str, Any]]:
    """A fresh copy of the defaults (callers may change it)."""
    return copy.deepcopy(DEFAULT_POLICIES)
