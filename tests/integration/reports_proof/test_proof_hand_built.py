"""Every metric of docs/reports.md on the hand-built month (scenario.py), against values
this test computes from what it did to the cases (proof_support.expected), not from
closeloop.reports: business time across a weekend and a holiday, a paused case, a
reopened case, breaches, a merged duplicate, a repeat, and the previous period."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import scenario
from proof_support import (
    SCALE,
    business_seconds,
    expected,
    local,
)

from support import Client, TenantHandle

FACTS_ACTOR = "refresh_case_facts"


def test_the_independent_calendar_arithmetic() -> None:
    # Friday 16:00 → Tuesday 10:00: Friday 2 h, Monday 7.5 h, Tuesday 1 h.
    assert business_seconds(local(2026, 11, 6, 16), local(2026, 11, 10, 10)) == 10.5 * 3600
    # Friday 16:00 → Thursday 11:00 across the weekend and the Wednesday holiday.
    assert business_seconds(local(2026, 11, 6, 16), local(2026, 11, 12, 11)) == 19 * 3600
    # B's wait: Monday 11:00 → Wednesday 15:00 is 17.5 working hours.
    assert business_seconds(local(2026, 11, 16, 11), local(2026, 11, 18, 15)) == 17.5 * 3600


MISMATCHES: list[str] = []


def _close(got: Any, want: Any, where: str) -> None:
    """Note a figure that differs (every one is listed at the end, not just the first)."""
    if want is None or got is None or not (isinstance(want, float) or isinstance(got, float)):
        same = got == want
    else:
        same = got == pytest.approx(want, rel=1e-6, abs=1e-6)
    if not same:
        MISMATCHES.append(f"{where}: got {got!r}, expected {want!r}")


def _no_mismatches() -> None:
    found = list(MISMATCHES)
    MISMATCHES.clear()
    assert not found, "figures differ from the independent ones:\n" + "\n".join(found)


def _rows(metric: dict[str, Any], dimension: str) -> dict[str, dict[str, Any]]:
    for breakdown in metric.get("breakdowns", []):
        if breakdown["dimension"] == dimension:
            return {row["key"]: row for row in breakdown["rows"]}
    raise AssertionError(f"{metric['name']} has no breakdown by {dimension}: {metric}")


def _counts(metric: dict[str, Any], dimension: str, *, keep_zero: bool = False) -> dict[str, int]:
    return {
        key: row["count"] if row.get("count") is not None else row["value"]
        for key, row in _rows(metric, dimension).items()
        if keep_zero or (row.get("count") or row.get("value"))
    }


def compare(metrics: dict[str, dict[str, Any]], want: dict[str, dict[str, Any]]) -> None:
    """Every figure the definitions name, one assertion message per figure."""
    volume = metrics["volume"]
    _close(volume["value"], want["volume"]["value"], "volume")
    for dimension, counts in want["volume"]["breakdowns"].items():
        _close(_counts(volume, dimension), counts, f"volume by {dimension}")
    _close(metrics["resolved"]["value"], want["resolved"]["value"], "resolved")
    for name in ("complaint_rate", "on_time_rate", "fcr_rate", "reopen_rate", "repeat_rate"):
        for part in ("value", "numerator", "denominator"):
            if name == "complaint_rate" and part == "denominator" and want[name][part] is None:
                continue
            _close(metrics[name].get(part), want[name][part], f"{name}.{part}")
    for name in ("first_response_time", "resolution_time", "close_time"):
        _close(metrics[name].get("count"), want[name]["count"], f"{name}.count")
        _close(metrics[name].get("value"), want[name]["value"], f"{name}.value")
        for figure, value in want[name]["figures"].items():
            _close(metrics[name]["figures"].get(figure), value, f"{name}.{figure}")

    # on time, per target
    if want["on_time_rate"]["denominator"]:
        rows = _rows(metrics["on_time_rate"], "target")
        for target, verdicts in want["on_time_rate"]["targets"].items():
            row = rows.get(f"on_time_rate:{target}")
            assert row is not None, f"on_time_rate has no row for {target}: {list(rows)}"
            _close(row.get("numerator"), verdicts["met"], f"on_time_rate:{target} met")
            decided = verdicts["met"] + verdicts["breached"]
            _close(row.get("denominator"), decided, f"on_time_rate:{target} decided")
            _close(row["figures"].get("breached"), verdicts["breached"], f"{target} breached")

    escalations = metrics["escalations"]
    _close(escalations["value"], want["escalations"]["value"], "escalations")
    if want["escalations"]["value"]:
        _close(_counts(escalations, "level"), want["escalations"]["levels"], "escalations by level")
    # made_major: its own test below (test_proof_made_major.py).

    satisfaction, wanted = metrics["satisfaction"], want["satisfaction"]
    _close(satisfaction.get("value"), wanted["value"], "satisfaction (top box)")
    _close(satisfaction.get("count"), wanted["count"], "satisfaction.count")
    for figure, value in wanted["figures"].items():
        _close(satisfaction["figures"].get(figure), value, f"satisfaction.{figure}")
    answers = _counts(satisfaction, "answer", keep_zero=True)
    _close(list(answers), [f"satisfaction:{code}" for code in SCALE], "satisfaction rows")
    _close(answers, wanted["answers"], "satisfaction by answer")

    followup, wanted = metrics["followup"], want["followup"]
    for part in ("value", "numerator", "denominator"):
        _close(followup.get(part), wanted[part], f"followup.{part}")
    for figure, value in wanted["figures"].items():
        _close(followup["figures"].get(figure), value, f"followup.{figure}")
    if any(wanted["outcomes"].values()):
        _close(_counts(followup, "outcome", keep_zero=True), wanted["outcomes"], "outcomes")

    responsibility, wanted = metrics["responsibility"], want["responsibility"]
    _close(responsibility["value"], wanted["value"], "responsibility")
    for dimension in ("party", "department", "third_party"):
        if wanted[dimension]:
            _close(_counts(responsibility, dimension), wanted[dimension], f"by {dimension}")
    if wanted["party"]:
        shares = {k: r["share"] for k, r in _rows(responsibility, "party").items()}
        total = sum(wanted["party"].values())
        _close(shares, {k: v / total for k, v in wanted["party"].items()}, "party shares")

    ranking, wanted = metrics["handler_ranking"], want["handler_ranking"]
    _close(ranking["value"], wanted["value"], "handler_ranking (handlers listed)")
    if wanted["rows"]:
        rows = _rows(ranking, "handler")
        for key, expect in wanted["rows"].items():
            row = rows.get(key)
            assert row is not None, f"handler_ranking lacks {key}: {list(rows)}"
            _close(row.get("count"), expect["count"], f"{key} resolved")
            on_time = expect["met"] / expect["decided"] if expect["decided"] else None
            _close(row["figures"].get("on_time_rate"), on_time, f"{key} on-time rate")
            satisfied = expect["sat"] / expect["answers"] if expect["answers"] else None
            _close(row["figures"].get("satisfaction"), satisfied, f"{key} satisfaction")
            _close(row["figures"].get("ranked"), int(expect["count"] >= 5), f"{key} ranked")

    for name in ("pareto", "pareto_products"):
        got, wanted = metrics[name], want[name]
        dimension = got["breakdowns"][0]["dimension"] if got.get("breakdowns") else None
        assert dimension is not None, f"{name} has no rows: {got}"
        rows = got["breakdowns"][0]["rows"]
        _close({r["key"]: r["count"] for r in rows}, wanted["rows"], f"{name} rows")
        counts = [r["count"] for r in rows]
        assert counts == sorted(counts, reverse=True), f"{name} not most first: {counts}"
        total, running = sum(wanted["rows"].values()), 0
        for r in rows:
            running += r["count"]
            _close(r["share"], r["count"] / total, f"{name} {r['key']} share")
            _close(r["cumulative_share"], running / total, f"{name} {r['key']} cumulative")


async def _summary(client: Client, tenant: TenantHandle, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/reports/summary", headers=tenant.headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_every_metric_of_the_hand_built_month_equals_the_independent_figures(
    client: Client, tenant: TenantHandle, month: scenario.World
) -> None:
    world = month
    now = dt.datetime.now(dt.UTC)
    cases = world.all()
    # The scenario is what it says it is (else the proof proves nothing).
    made = world.cases
    assert made["H"].merged
    assert made["I"].is_repeat
    assert not made["A"].is_repeat
    assert made["G"].escalation_level >= 1
    assert made["G"].severity == "critical"
    assert made["C"].reopened_in_window
    assert made["J"].reopened_in_window
    assert made["E"].customer_contacts == 1
    assert not made["E"].reopens
    assert any(c["breached_at"] for c in made["D"].clocks if c["target"] == "first_response")
    assert made["B"].seconds(made["B"].first_resolved_at) == (20 * 3600, 5 * 3600)  # type: ignore[arg-type]

    await scenario.record_orders(client, tenant)
    body = await _summary(client, tenant, period="2026-11")
    assert body["period"] == {"from": "2026-11-01", "to": "2026-11-30", "days": 30,
                              "time_zone": "Asia/Shanghai"}  # fmt: skip
    assert body["previous_period"]["from"] == "2026-10-01"
    november = expected(cases, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                        orders=scenario.ORDERS, now=now)  # fmt: skip
    october = expected(cases, dt.date(2026, 10, 1), dt.date(2026, 10, 31), orders=None, now=now)
    MISMATCHES.clear()
    compare(body["metrics"], november)

    # The previous period, figure by figure where the figure is a plain value.
    previous = await _summary(client, tenant, period="2026-10")
    compare(previous["metrics"], october)
    for name, metric in body["metrics"].items():
        _close(metric.get("previous"), previous["metrics"][name].get("value"), f"{name}.previous")
    _no_mismatches()
    assert body["metrics"]["complaint_rate"]["value"] is not None
    assert previous["metrics"]["complaint_rate"]["value"] is None
    assert previous["metrics"]["complaint_rate"]["note"] == "no_order_volume"


async def test_the_weekly_trend_adds_up_to_the_month_and_matches_each_week(
    client: Client, tenant: TenantHandle, month: scenario.World
) -> None:
    world = month
    now = dt.datetime.now(dt.UTC)
    body = await _summary(client, tenant, period="2026-11", group_by="week")
    MISMATCHES.clear()
    for name in ("volume", "resolved", "fcr_rate", "on_time_rate", "first_response_time"):
        points = body["metrics"][name]["trend"]
        assert points[0]["key"] == "week:2026-W44"
        assert points[0]["start"] == "2026-11-01"
        assert points[-1]["end"] == "2026-11-30"
        for point in points:
            start, end = dt.date.fromisoformat(point["start"]), dt.date.fromisoformat(point["end"])
            want = expected(world.all(), start, end, orders=None, now=now)[name]
            _close(point.get("value"), want["value"], f"{name} {point['key']}")
            if "numerator" in want:
                _close(point.get("numerator"), want["numerator"], f"{name} {point['key']} num")
                _close(point.get("denominator"), want["denominator"], f"{name} {point['key']} den")
    _no_mismatches()
