"""The reports API: the summary's shape, the cases behind a figure, who may ask, the
department scope, bad parameters, and the facts kept live by the worker."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any

from reports_support import (
    act,
    department,
    facts_of,
    new_case,
    resolve,
    rollup_of,
    run_refreshes,
    staff,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.reports.schemas import METRICS
from support import Client, TenantHandle, category_ids, fields_of

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _today() -> str:
    return dt.datetime.now(SHANGHAI).date().isoformat()


async def _summary(client: Client, headers: dict[str, str], **params: str) -> dict[str, Any]:
    query = {"from": _today(), "to": _today(), **params}
    response = await client.get("/api/v1/reports/summary", headers=headers, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _cases(client: Client, headers: dict[str, str], metric: str, **params: str) -> list[str]:
    query = {"from": _today(), "to": _today(), **params}
    response = await client.get(f"/api/v1/reports/{metric}/cases", headers=headers, params=query)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_summary_answers_every_metric_and_lists_the_cases_behind_them(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    logistics = await department(client, tenant, "logistics")
    handler = await staff(client, tenant, "handler")
    quick = await new_case(client, tenant, channel="web")
    slow = await new_case(client, tenant, channel="phone")
    waiting = await new_case(client, tenant, channel="phone")
    await resolve(client, tenant, quick, handler, logistics)
    await resolve(client, tenant, slow, handler, logistics, progress_to_customer=True)
    await act(client, tenant.headers, waiting, "request_info", {"question": "Order number?"})
    assert await run_refreshes(app_engine, tenant.id) > 0

    body = await _summary(client, tenant.headers, group_by="day")
    assert list(body["metrics"]) == list(METRICS)
    assert body["period"]["from"] == _today()
    assert body["period"]["days"] == 1
    assert body["previous_period"]["days"] == 1
    metrics = body["metrics"]
    assert metrics["volume"]["value"] == 3
    channels = next(b for b in metrics["volume"]["breakdowns"] if b["dimension"] == "channel")
    assert {r["key"]: r["count"] for r in channels["rows"]} == {
        "channel:web": 1,
        "channel:phone": 2,
    }
    assert metrics["volume"]["trend"][0]["key"] == f"day:{_today()}"
    assert metrics["volume"]["trend"][0]["count"] == 3
    assert metrics["resolved"]["value"] == 2
    [solutions] = [b for b in metrics["resolved"]["breakdowns"] if b["dimension"] == "solution"]
    assert [(r["key"], r["count"]) for r in solutions["rows"]] == [("solution:coupon", 2)]
    # Quick: the resolution was the only contact; slow: a progress note came first.
    assert (metrics["fcr_rate"]["numerator"], metrics["fcr_rate"]["denominator"]) == (1, 2)
    # The request for information is a customer-visible contact: three first responses.
    assert metrics["first_response_time"]["count"] == 3
    figures = metrics["first_response_time"]["figures"]
    assert {"median_business_seconds", "p90_calendar_seconds"} <= set(figures)
    third = next(b for b in metrics["responsibility"]["breakdowns"] if b["dimension"] == "party")
    assert {r["key"]: r["count"] for r in third["rows"]}["party:third_party"] == 2
    assert metrics["complaint_rate"]["value"] is None
    assert metrics["complaint_rate"]["note"] == "no_order_volume"

    assert sorted(await _cases(client, tenant.headers, "fcr_rate")) == [quick]
    assert sorted(await _cases(client, tenant.headers, "fcr_rate", key="fcr_rate:not")) == [slow]
    assert sorted(await _cases(client, tenant.headers, "volume", key="channel:phone")) == sorted(
        [slow, waiting]
    )
    assert sorted(await _cases(client, tenant.headers, "resolved", key=f"day:{_today()}")) == (
        sorted([quick, slow])
    )

    # First-response clocks are due tomorrow (24 h); all three stopped in time.
    two_days = {"to": (dt.date.fromisoformat(_today()) + dt.timedelta(days=2)).isoformat()}
    on_time = (await _summary(client, tenant.headers, **two_days))["metrics"]["on_time_rate"]
    [targets] = [b for b in on_time["breakdowns"] if b["dimension"] == "target"]
    first = next(r for r in targets["rows"] if r["key"] == "on_time_rate:first_response")
    assert (first["numerator"], first["denominator"]) == (3, 3)
    met = await _cases(
        client, tenant.headers, "on_time_rate", key="on_time_rate:first_response:met", **two_days
    )
    assert sorted(met) == sorted([quick, slow, waiting])
    breached = await _cases(
        client, tenant.headers, "on_time_rate", key="on_time_rate:breached", **two_days
    )
    assert breached == []

    # Order volumes give the complaint rate.
    put = await client.put(
        f"/api/v1/reports/order-volumes/{_today()}/{_today()}",
        headers=tenant.headers,
        json={"orders": 20000},
    )
    assert put.status_code == 200, put.text
    rate = (await _summary(client, tenant.headers))["metrics"]["complaint_rate"]
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (3, 20000, 1.5)


async def test_facts_follow_lifecycle_actions_through_the_worker(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    logistics = await department(client, tenant, "logistics")
    handler = await staff(client, tenant, "handler")
    case_id = await new_case(client, tenant)
    await run_refreshes(app_engine, tenant.id)
    facts = await facts_of(app_engine, tenant.id, case_id)
    assert facts is not None
    assert facts.first_resolved_at is None

    await resolve(client, tenant, case_id, handler, logistics)
    assert await run_refreshes(app_engine, tenant.id) >= 4  # one per action
    facts = await facts_of(app_engine, tenant.id, case_id)
    assert facts is not None
    assert facts.first_resolved_at is not None
    assert facts.resolved_by == handler[0]
    assert facts.responsible_party == "third_party"
    assert facts.third_party == "SF Express"
    assert facts.resolution_seconds is not None
    assert facts.resolution_seconds >= 0

    await act(client, tenant.headers, case_id, "feedback", {"satisfaction": "satisfied"})
    await act(client, tenant.headers, case_id, "reopen", {"reason": "It broke again"})
    await run_refreshes(app_engine, tenant.id)
    facts = await facts_of(app_engine, tenant.id, case_id)
    assert facts is not None
    assert (facts.satisfaction, facts.reopen_count, facts.reopened_in_window) == (
        "satisfied",
        1,
        True,
    )
    live = await rollup_of(app_engine, tenant.id)
    measures = {key[1] for key in live}
    assert {"received", "resolved", "answered", "satisfied", "reopened_in_window"} <= measures
    # A redelivered refresh changes nothing.
    await act(client, tenant.headers, case_id, "annotate", {"note": "checked"})
    await run_refreshes(app_engine, tenant.id)
    assert await rollup_of(app_engine, tenant.id) == live


async def test_who_may_read_reports_and_the_department_scope(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    logistics = await department(client, tenant, "logistics")
    billing = await department(client, tenant, "billing")
    handler = await staff(client, tenant, "handler")
    ours = await new_case(client, tenant)
    theirs = await new_case(client, tenant)
    await resolve(client, tenant, ours, handler, logistics)
    await resolve(client, tenant, theirs, handler, billing)
    await run_refreshes(app_engine, tenant.id)

    _, supervisor = await staff(client, tenant, "supervisor")
    _, viewer = await staff(client, tenant, "viewer")
    _, manager = await staff(client, tenant, "supervisor", department_id=logistics)
    _, agent = await staff(client, tenant, "agent")
    for headers in (tenant.headers, supervisor, viewer):
        assert (await _summary(client, headers))["metrics"]["volume"]["value"] == 2
    assert (await _summary(client, manager))["metrics"]["volume"]["value"] == 1
    assert await _cases(client, manager, "volume") == [ours]
    assert await _cases(client, manager, "resolved", key=f"department:{billing}") == []
    for path in ("/api/v1/reports/summary", "/api/v1/reports/volume/cases"):
        refused = await client.get(path, headers=agent, params={"period": "2026-10"})
        assert refused.status_code == 403, refused.text
        anonymous = await client.get(path, params={"period": "2026-10"})
        assert anonymous.status_code == 401
    put = await client.put(
        "/api/v1/reports/order-volumes/2026-10-01/2026-10-31", headers=viewer, json={"orders": 1}
    )
    assert put.status_code == 403


async def test_bad_parameters_are_refused_naming_them(client: Client, tenant: TenantHandle) -> None:
    cases = {
        "period": {"period": "October"},
        "from": {"from": "yesterday", "to": "2026-10-01"},
        "to": {"from": "2026-10-02", "to": "2026-10-01"},
        "group_by": {"period": "2026-10", "group_by": "hour"},
        "kind": {"period": "2026-10", "kind": "rant"},
        "department": {"period": "2026-10", "department": "logistics"},
        "category": {"period": "2026-10", "category": "no-such-category"},
    }
    for field, params in cases.items():
        response = await client.get(
            "/api/v1/reports/summary", headers=tenant.headers, params=params
        )
        assert response.status_code == 422, (field, response.text)
        assert fields_of(response.json()) == [field], response.text
    for field in ("from", "to", "period"):  # given empty: not the same as not given
        response = await client.get(
            "/api/v1/reports/summary", headers=tenant.headers, params={field: ""}
        )
        assert response.status_code == 422, (field, response.text)
        assert fields_of(response.json()) == [field], response.text
    bad_key = await client.get(
        "/api/v1/reports/volume/cases",
        headers=tenant.headers,
        params={"period": "2026-10", "key": "colour:red"},
    )
    assert bad_key.status_code == 422
    assert fields_of(bad_key.json()) == ["key"]
    unknown = await client.get(
        "/api/v1/reports/happiness/cases", headers=tenant.headers, params={"period": "2026-10"}
    )
    assert unknown.status_code == 404, unknown.text


async def test_another_tenants_cases_are_never_counted(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    ours = await new_case(client, tenant)
    await new_case(client, other_tenant)
    await new_case(client, other_tenant)
    await run_refreshes(app_engine, tenant.id)
    await run_refreshes(app_engine, other_tenant.id)
    assert (await _summary(client, tenant.headers))["metrics"]["volume"]["value"] == 1
    assert await _cases(client, tenant.headers, "volume") == [ours]
    assert (await _summary(client, other_tenant.headers))["metrics"]["volume"]["value"] == 2


async def test_category_rows_form_a_tree_and_pareto_counts_own_cases(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    async def category(code: str, parent: str | None = None) -> str:
        body = {"code": code, "name_en": code.title(), "name_zh": code}
        response = await client.post(
            "/api/v1/categories/",
            headers=tenant.headers,
            json={**body, **({"parent_id": parent} if parent else {})},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def case_in(category_id: str) -> str:
        created = await client.post(
            "/api/v1/cases/",
            headers=tenant.headers,
            json={
                "kind": "complaint",
                "channel": "web",
                "title": "Late parcel",
                "description": "It came late.",
                "category_id": category_id,
            },
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    logistics = await category("rpt-logistics")
    delay = await category("rpt-delay", logistics)
    general = await case_in(logistics)
    late = [await case_in(delay), await case_in(delay)]
    await run_refreshes(app_engine, tenant.id)

    metrics = (await _summary(client, tenant.headers))["metrics"]
    [tree] = [b for b in metrics["volume"]["breakdowns"] if b["dimension"] == "category"]
    rows = {r["key"]: r for r in tree["rows"]}
    assert rows["category:rpt-logistics"]["count"] == 3  # its own case and its child's two
    assert rows["category:rpt-delay"]["count"] == 2
    assert rows["category:rpt-delay"]["parent"] == "category:rpt-logistics"
    pareto = metrics["pareto"]["breakdowns"][0]["rows"]
    assert [(r["key"], r["count"]) for r in pareto] == [
        ("category:rpt-delay", 2),
        ("category:rpt-logistics", 1),
    ]
    assert pareto[-1]["cumulative_share"] == 1.0
    under = await _cases(client, tenant.headers, "volume", key="category:rpt-logistics")
    assert sorted(under) == sorted([general, *late])
    own = await _cases(client, tenant.headers, "pareto", key="category:rpt-logistics")
    assert own == [general]
    filtered = await _summary(client, tenant.headers, category="rpt-logistics")
    assert filtered["metrics"]["volume"]["value"] == 3


async def test_a_filter_naming_another_tenants_id_is_404_not_an_empty_report(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    ours = await department(client, tenant, "logistics")
    theirs = {
        "department": await department(client, other_tenant, "logistics"),
        "handler": str(other_tenant.admin_id),
        "category": (await category_ids(client, other_tenant))["logistics_delay"],
    }
    # This tenant's own ids are a report (empty or not).
    own = {
        "department": ours,
        "handler": str(tenant.admin_id),
        "category": (await category_ids(client, tenant))["logistics_delay"],
    }
    for name, value in own.items():
        await _summary(client, tenant.headers, **{name: value})
        await _cases(client, tenant.headers, "volume", **{name: value})
    nobodys = str(uuid.uuid4())
    for name, value in theirs.items():
        answers = {}
        for given in (value, nobodys):
            for path in ("/api/v1/reports/summary", "/api/v1/reports/volume/cases"):
                response = await client.get(
                    path,
                    headers=tenant.headers,
                    params={"from": _today(), "to": _today(), name: given},
                )
                assert response.status_code == 404, (name, path, response.text)
                message = response.json()["error"]["message"]
                answers.setdefault(path, []).append(message.replace(given, "ID"))
        # Another tenant's id and nobody's read the same.
        for path, (foreign, unknown) in answers.items():
            assert foreign == unknown, (name, path)
    # The other tenant's own filter still works for them.
    for name, value in theirs.items():
        await _summary(client, other_tenant.headers, **{name: value})
