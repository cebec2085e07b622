"""Report facts of one case from its timeline, with no database: waiting time taken out
of calendar and business time, first response, contacts, reopens (docs/reports.md)."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from closeloop.cases.models import Case, CaseEvent
from closeloop.reports.facts import Context, _facts
from closeloop.reports.rollup import contributions, difference
from closeloop.sla.calendar import BusinessCalendar

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
CALENDAR = BusinessCalendar.build(
    timezone="Asia/Shanghai",
    week_hours={d: ["09:00-12:00", "13:30-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    country="CN",
)
CONTEXT = Context(CALENDAR, dt.timedelta(days=30))


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def _event(
    type_: str,
    at: str,
    to: str | None,
    *,
    before: str | None = None,
    customer: bool = False,
    **data: Any,
) -> CaseEvent:
    return CaseEvent(
        id=uuid.uuid4(),
        type=type_,
        actor="user:00000000-0000-4000-8000-000000000001",
        visibility="customer" if customer else "internal",
        from_status=before,
        to_status=to,
        data=data,
        created_at=_at(at),
    )


def _case(**fields: Any) -> Case:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "status": "resolved",
        "kind": "complaint",
        "channel": "web",
        "received_at": _at("2026-11-06 17:00"),  # a Friday
        "escalation_level": 0,
        "is_repeat": False,
        "product": {"name": "Kettle"},
        "resolution": {"responsible_party": "internal"},
    }
    values.update(fields)
    return Case(**values)


# Friday 17:00 registered; 17:30 asks the customer (a customer-visible contact) and
# waits; Monday 10:00 the answer comes; Monday 11:00 resolved.
TIMELINE = [
    _event("registered", "2026-11-06 17:00", "registered", customer=True),
    _event(
        "request_info", "2026-11-06 17:30", "waiting_customer", before="registered", customer=True
    ),
    _event("resume", "2026-11-09 10:00", "registered", before="waiting_customer"),
    _event("verify", "2026-11-09 10:10", "verified", before="registered"),
    _event("annotate", "2026-11-09 10:20", "verified", before="verified"),
    _event("resolve", "2026-11-09 11:00", "resolved", before="verified", customer=True),
]


def test_waiting_on_the_customer_is_taken_out_of_both_clocks() -> None:
    facts = _facts(_case(), TIMELINE, [], [], CONTEXT)
    # First response: the request for information, 30 minutes in (working time too).
    assert facts["first_response_at"] == _at("2026-11-06 17:30")
    assert (facts["first_response_seconds"], facts["first_response_business_seconds"]) == (
        1800,
        1800,
    )
    # 66 h elapsed, 64.5 h of it waiting: 1.5 h. Working time: Fri 17-18 and Mon 9-11
    # (3 h), of which Fri 17:30-18 and Mon 9-10 were waiting: 1.5 h.
    assert facts["resolution_seconds"] == 5400
    assert facts["resolution_business_seconds"] == 5400
    assert facts["waiting_seconds"] == int(dt.timedelta(hours=64, minutes=30).total_seconds())
    # The acknowledgement and the internal note are no contacts; the request and the
    # resolution are: not resolved at the first contact.
    assert facts["customer_contacts"] == 2
    assert facts["reopen_count"] == 0
    assert facts["product"] == "Kettle"
    assert facts["responsible_party"] == "internal"


def test_a_reopen_within_the_window_counts_and_moves_the_rollup() -> None:
    reopened = [
        *TIMELINE,
        _event("reopen", "2026-11-20 09:00", "reopened", before="resolved"),
        _event("resolve", "2026-11-21 09:00", "resolved", before="reopened", customer=True),
    ]
    before = _facts(_case(), TIMELINE, [], [], CONTEXT)
    after = _facts(_case(id=before["id"]), reopened, [], [], CONTEXT)
    assert after["first_resolved_at"] == _at("2026-11-09 11:00")  # the first resolution
    assert (after["reopen_count"], after["reopened_in_window"]) == (1, True)
    delta = difference(contributions(before, SHANGHAI), contributions(after, SHANGHAI))
    day = dt.date(2026, 11, 9)
    assert delta == {(day, "reopened_in_window", "complaint", "web", "", "", ""): 1}
    late = _facts(
        _case(), [*TIMELINE, reopened[-2]], [], [], Context(CALENDAR, dt.timedelta(days=3))
    )
    assert late["reopened_in_window"] is False


def test_a_merged_duplicate_adds_nothing_to_the_rollup() -> None:
    facts = _facts(_case(merged_into_id=uuid.uuid4(), status="merged"), TIMELINE, [], [], CONTEXT)
    assert facts["merged"] is True
    assert contributions(facts, SHANGHAI) == {}
