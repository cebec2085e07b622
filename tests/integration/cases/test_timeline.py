"""The timeline: every action's event in order, what the customer may see, who may read it."""

from __future__ import annotations

from lifecycle_support import action_url, insert_case, make_user, read_case
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of


async def test_events_come_in_order_with_actor_statuses_and_visibility(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    handler_id, handler = await make_user(client, tenant, "handler")
    case_id = await insert_case(
        app_engine, tenant.id, status="in_progress", handler_id=handler_id,
        handler_history=[handler_id],
    )  # fmt: skip
    steps = [
        ("progress", {"note": "Asked the carrier", "visibility": "internal"}),
        ("progress", {"note": "Your parcel is on its way back", "visibility": "customer"}),
        ("request_info", {"question": "Which address?", "reason": "two on file"}),
        ("resume", {"note": "Customer answered"}),
        ("annotate", {"note": "Carrier contact: Li"}),
        (
            "resolve",
            {
                "root_cause": "Carrier lost the parcel",
                "responsible_party": "third_party",
                "third_party": "SF Express",
                "solution_type": "replacement",
                "result": "A new parcel was sent",
            },
        ),
    ]
    for action, body in steps:
        response = await client.post(action_url(case_id, action), headers=handler, json=body)
        assert response.status_code == 200, f"{action}: {response.text}"

    response = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers)
    assert response.status_code == 200, response.text
    events = response.json()["items"]
    assert [e["type"] for e in events] == [action for action, _ in steps]
    assert {e["actor"] for e in events} == {f"user:{handler_id}"}
    assert [(e["from_status"], e["to_status"]) for e in events] == [
        ("in_progress", "in_progress"),
        ("in_progress", "in_progress"),
        ("in_progress", "waiting_customer"),
        ("waiting_customer", "in_progress"),
        ("in_progress", "in_progress"),
        ("in_progress", "resolved"),
    ]
    assert [e["visibility"] for e in events] == [
        "internal", "customer", "customer", "internal", "internal", "customer",
    ]  # fmt: skip
    assert events[1]["data"] == {"note": "Your parcel is on its way back"}
    assert events[2]["data"] == {"question": "Which address?", "reason": "two on file"}
    assert events[5]["data"]["result"] == "A new parcel was sent"
    assert all(e["case_id"] == str(case_id) for e in events)
    assert (await read_case(app_engine, tenant.id, case_id)).version == 1 + len(steps)

    customer = await client.get(
        f"/api/v1/cases/{case_id}/timeline",
        headers=tenant.headers,
        params={"visibility": "customer"},
    )
    assert customer.status_code == 200, customer.text
    assert [e["type"] for e in customer.json()["items"]] == ["progress", "request_info", "resolve"]
    internal = await client.get(
        f"/api/v1/cases/{case_id}/timeline",
        headers=tenant.headers,
        params={"visibility": "internal"},
    )
    assert [e["type"] for e in internal.json()["items"]] == ["progress", "resume", "annotate"]


async def test_an_invalid_case_tells_the_customer_why(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(app_engine, tenant.id)
    response = await client.post(
        action_url(case_id, "verify"),
        headers=tenant.headers,
        json={"valid": False, "explanation": "This product is not sold by us."},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed_invalid"
    assert response.json()["closed_at"] is not None
    customer = await client.get(
        f"/api/v1/cases/{case_id}/timeline",
        headers=tenant.headers,
        params={"visibility": "customer"},
    )
    (event,) = customer.json()["items"]
    assert event["type"] == "verify"
    assert event["data"] == {"valid": False, "explanation": "This product is not sold by us."}


async def test_every_role_of_the_tenant_reads_every_event(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(app_engine, tenant.id, status="assigned")
    response = await client.post(
        action_url(case_id, "annotate"), headers=tenant.headers, json={"note": "internal only"}
    )
    assert response.status_code == 200, response.text
    for role in ("viewer", "agent", "handler", "followup", "supervisor"):
        _, headers = await make_user(client, tenant, role)
        timeline = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=headers)
        assert timeline.status_code == 200, timeline.text
        events = timeline.json()["items"]
        assert [(e["type"], e["visibility"]) for e in events] == [("annotate", "internal")]


async def test_a_timeline_needs_a_login_and_a_known_visibility(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(app_engine, tenant.id)
    assert (await client.get(f"/api/v1/cases/{case_id}/timeline")).status_code == 401
    response = await client.get(
        f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers, params={"visibility": "public"}
    )
    assert response.status_code == 400, response.text
    assert fields_of(response.json()["error"])[0] == "visibility"


async def test_another_tenants_timeline_is_not_found(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(app_engine, tenant.id)
    await client.post(action_url(case_id, "annotate"), headers=tenant.headers, json={"note": "A"})
    response = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=other_tenant.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_the_timeline_pages_like_every_list(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(app_engine, tenant.id, status="assigned")
    notes = [f"note {i}" for i in range(5)]
    for note in notes:
        response = await client.post(
            action_url(case_id, "annotate"), headers=tenant.headers, json={"note": note}
        )
        assert response.status_code == 200, response.text

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers, params=params
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        seen += [e["data"]["note"] for e in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == notes  # oldest first, none twice, none missed
    assert pages == 3

    whole = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers)
    assert [e["data"]["note"] for e in whole.json()["items"]] == notes
    assert whole.json()["next_cursor"] is None
    bad = await client.get(
        f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers, params={"cursor": "nope"}
    )
    assert bad.status_code == 422, bad.text  # like every list's unknown cursor
    assert bad.json()["error"]["code"] == "invalid_cursor"
