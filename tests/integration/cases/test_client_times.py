"""Times typed by clients: `received_at` without seconds (and every other RFC 3339 form)
is taken, everywhere a date and time is read; a time without a zone keeps each field's
rule (intake: the tenant's zone; an action's deadline: refused)."""

from __future__ import annotations

import datetime as dt

import pytest
from case_support import create_case, make_user
from lifecycle_support import action_url, insert_case, make_department
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle

AT_0930_UTC = dt.datetime(2026, 2, 13, 9, 30, tzinfo=dt.UTC)


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize(
    "typed",
    [
        "2026-02-13T17:30+08:00",
        "2026-02-13T17:30:00+08:00",
        "2026-02-13T09:30:00.000000001Z",
        "2026-02-13t09:30z",
        "2026-02-13 17:30+08:00",
        "2026-02-13T17:30+0800",
        "2026-02-13T17:30",  # no zone: the tenant's (Asia/Shanghai)
        "2026-02-13 17:30",
    ],
)
async def test_intake_takes_every_form_of_received_at(
    client: Client, tenant: TenantHandle, typed: str
) -> None:
    case = await create_case(client, tenant.headers, received_at=typed, problem_at=typed)

    assert _moment(case["received_at"]) == AT_0930_UTC
    shown = (await client.get(f"/api/v1/cases/{case['id']}", headers=tenant.headers)).json()
    assert _moment(shown["problem_at"]) == AT_0930_UTC


async def test_an_unreadable_received_at_names_the_field_and_the_forms(
    client: Client, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "t",
            "description": "d",
            "received_at": "13/02/2026 17:30",
        },
    )

    assert response.status_code in (400, 422), response.text
    error = response.json()["error"]
    assert "received_at" in str(error["details"])
    assert "RFC 3339" in str(error)
    listed = (await client.get("/api/v1/cases", headers=tenant.headers)).json()
    assert listed["items"] == []


async def test_edits_and_the_public_form_take_a_time_without_seconds(
    client: Client, tenant: TenantHandle
) -> None:
    case = await create_case(client, tenant.headers)
    patched = await client.patch(
        f"/api/v1/cases/{case['id']}",
        headers={**tenant.headers, "If-Match": str(case["version"])},
        json={"problem_at": "2026-02-13T17:30+08:00"},
    )
    assert patched.status_code == 200, patched.text
    assert _moment(patched.json()["problem_at"]) == AT_0930_UTC

    filed = await client.post(
        f"/public/{tenant.slug}/cases",
        json={"title": "洗衣机漏水", "description": "漏水", "problem_at": "2026-02-13 17:30"},
    )
    assert filed.status_code == 201, filed.text


async def test_action_times_without_seconds_are_taken_and_still_need_a_zone(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    department = await make_department(app_engine, tenant.id, "logistics")
    handler_id, _ = await make_user(client, tenant, "handler")
    case_id = await insert_case(app_engine, tenant.id, status="verified")
    body = {"lead_department_id": str(department), "handler_id": str(handler_id)}

    naive = await client.post(
        action_url(case_id, "assign"),
        headers=tenant.headers,
        json={**body, "deadline": "2026-12-01T18:00"},
    )
    assert naive.status_code == 400, naive.text
    assert "deadline" in str(naive.json()["error"]["details"])
    assert "time zone" in naive.text

    assigned = await client.post(
        action_url(case_id, "assign"),
        headers=tenant.headers,
        json={**body, "deadline": "2026-12-01t18:00+08"},
    )
    assert assigned.status_code == 200, assigned.text
    assert _moment(assigned.json()["deadline"]) == dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


async def test_list_and_audit_filters_take_a_time_without_seconds(
    client: Client, tenant: TenantHandle
) -> None:
    early = await create_case(client, tenant.headers, received_at="2026-02-13T17:00+08:00")
    late = await create_case(client, tenant.headers, received_at="2026-02-13T18:00+08:00")

    listed = await client.get(
        "/api/v1/cases", headers=tenant.headers, params={"received_from": "2026-02-13t09:30z"}
    )
    assert listed.status_code == 200, listed.text
    assert [c["number"] for c in listed.json()["items"]] == [late["number"]]
    naive = await client.get(
        "/api/v1/cases", headers=tenant.headers, params={"received_to": "2026-02-13 17:30"}
    )
    assert [c["number"] for c in naive.json()["items"]] == [early["number"]]

    audit = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"from": "2000-01-01T00:00Z"}
    )
    assert audit.status_code == 200, audit.text
    assert audit.json()["items"]
    future = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"from": "2999-01-01 00:00+08:00"}
    )
    assert future.status_code == 200, future.text
    assert future.json()["items"] == []
