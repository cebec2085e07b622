"""A clicked figure lists exactly the cases it counted: for figures, bars and trend
points of the hand-built month, `GET /api/v1/reports/{metric}/cases` answers the very
cases the test itself says are behind them (and as many as the figure counts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import scenario
from proof_support import Made, clock_verdict, day_of

from support import Client, TenantHandle

NOV = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))


def _in(moment: dt.datetime | None, start: dt.date = NOV[0], end: dt.date = NOV[1]) -> bool:
    return moment is not None and start <= day_of(moment) <= end


async def _listed(client: Client, tenant: TenantHandle, metric: str, key: str | None) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = {"period": "2026-11", "limit": "2"}  # small pages: the cursor is used
        if key is not None:
            params["key"] = key
        if cursor:
            params["cursor"] = cursor
        response = await client.get(
            f"/api/v1/reports/{metric}/cases", headers=tenant.headers, params=params
        )
        assert response.status_code == 200, f"{metric} {key}: {response.text}"
        body = response.json()
        assert (body["metric"], body["key"]) == (metric, key)
        ids += [item["id"] for item in body["items"]]
        received = [item["received_at"] for item in body["items"]]
        assert received == sorted(received, reverse=True), "newest received first"
        cursor = body["next_cursor"]
        if not cursor:
            return ids


def _clock(made: Made, target: str | None, verdict: str) -> bool:
    now = dt.datetime.now(dt.UTC)
    return any(
        (target is None or c["target"] == target)
        and _in(c["due_at"])
        and clock_verdict(c, now) == verdict
        for c in made.clocks
    )


async def test_every_clicked_figure_lists_exactly_the_cases_it_counted(
    client: Client, tenant: TenantHandle, month: scenario.World
) -> None:
    world = month
    cases = [c for c in world.all() if not c.merged]
    received = [c for c in cases if _in(c.received_at)]
    resolved = [c for c in cases if _in(c.first_resolved_at)]
    h1 = world.handlers["h1"]
    logistics = world.departments["logistics"]

    clicks: list[tuple[str, str | None, Callable[[Made], bool], list[Made]]] = [
        ("volume", None, lambda c: True, received),
        ("volume", "channel:phone", lambda c: c.channel == "phone", received),
        ("volume", "kind:complaint", lambda c: c.kind == "complaint", received),
        ("volume", "category:logistics_delay", lambda c: c.category == "logistics_delay",
         received),
        ("volume", f"department:{logistics}", lambda c: c.department == str(logistics),
         received),
        ("volume", "severity:urgent", lambda c: c.severity == "urgent", received),
        ("volume", "day:2026-11-16", lambda c: day_of(c.received_at) == dt.date(2026, 11, 16),
         received),
        ("volume", "week:2026-W48", lambda c: dt.date(2026, 11, 23) <= day_of(c.received_at)
         <= dt.date(2026, 11, 29), received),
        ("resolved", None, lambda c: True, resolved),
        ("fcr_rate", None, lambda c: not c.reopens and c.customer_contacts <= 1, resolved),
        ("fcr_rate", "fcr_rate:not", lambda c: bool(c.reopens) or c.customer_contacts > 1,
         resolved),
        ("reopen_rate", None, lambda c: c.reopened_in_window, resolved),
        ("repeat_rate", None, lambda c: c.is_repeat, received),
        ("escalations", "level:1", lambda c: c.escalation_level == 1, received),
        ("satisfaction", "satisfaction:unsatisfied",
         lambda c: c.answer is not None and _in(c.answer.at)
         and c.answer.body["satisfaction"] == "unsatisfied", cases),
        ("on_time_rate", "on_time_rate:first_response:breached",
         lambda c: _clock(c, "first_response", "breached"), cases),
        ("on_time_rate", "on_time_rate:met", lambda c: _clock(c, None, "met"), cases),
        ("followup", "followup:open",
         lambda c: c.followup_task is not None and _in(c.followup_task["due_by"])
         and c.followup_task["done_at"] is None, cases),
        ("followup", "outcome:unresolved",
         lambda c: c.followup_task is not None and _in(c.followup_task["done_at"])
         and c.followup_task["outcome"] == "unresolved", cases),
        ("responsibility", "party:third_party",
         lambda c: (c.resolution or {}).get("responsible_party") == "third_party", resolved),
        ("handler_ranking", f"handler:{h1}", lambda c: c.resolved_by == h1, resolved),
        ("pareto", "category:logistics_delay", lambda c: c.category == "logistics_delay",
         received),
        ("pareto_products", "product:电水壶", lambda c: c.product == "电水壶", received),
        ("first_response_time", None, lambda c: _in(c.first_response_at), cases),
        ("close_time", None, lambda c: _in(c.closed_at), cases),
    ]  # fmt: skip
    by_id = {c.id: c.name for c in world.all()}
    summary = await client.get(
        "/api/v1/reports/summary", headers=tenant.headers, params={"period": "2026-11"}
    )
    assert summary.status_code == 200, summary.text
    metrics: dict[str, Any] = summary.json()["metrics"]
    wrong: list[str] = []
    for metric, key, counted, among in clicks:
        want = sorted(c.name for c in among if counted(c))
        assert want, f"the scenario has no case for {metric} {key}: the click proves nothing"
        listed = await _listed(client, tenant, metric, key)
        assert len(listed) == len(set(listed)), f"{metric} {key}: a case listed twice"
        got = sorted(by_id.get(i, i) for i in listed)
        if got != want:
            wrong.append(f"{metric} {key}: listed {got}, counted {want}")
        if key is None:
            # What the figure counts: a rate's numerator, else its count.
            figure = metrics[metric]
            counted_n = figure.get("numerator")
            if counted_n is None:
                counted_n = figure.get("count")
            if metric in ("volume", "resolved"):
                counted_n = figure["value"]
            if counted_n != len(want):
                wrong.append(f"{metric}: the figure says {counted_n}, it counted {len(want)}")
    assert not wrong, "clicked figures list other cases:\n" + "\n".join(wrong)


async def test_a_key_the_metric_has_not_is_refused_and_an_unknown_metric_is_not_found(
    client: Client, tenant: TenantHandle
) -> None:
    bad = await client.get(
        "/api/v1/reports/volume/cases",
        headers=tenant.headers,
        params={"period": "2026-11", "key": "satisfaction:satisfied"},
    )
    assert bad.status_code == 422, bad.text
    assert "key" in bad.text
    unknown = await client.get(
        "/api/v1/reports/no_such_metric/cases", headers=tenant.headers, params={"period": "2026-11"}
    )
    assert unknown.status_code == 404, unknown.text
