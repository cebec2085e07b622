"""The case flow tells the customer and the handler: intake → acknowledgement, assign →
assignment (to the handler), progress shown to the customer → progress_update,
request_info → info_request, resolve → result, schedule_followup → followup_scheduled."""

from __future__ import annotations

from typing import Any

import notify_support as ns
from sqlalchemy.ext.asyncio import AsyncEngine

from support import PASSWORD, Client, TenantHandle, bearer, login


async def _act(
    client: Client, headers: dict[str, str], case_id: str, action: str, **body: Any
) -> None:
    response = await client.post(
        f"/api/v1/cases/{case_id}/actions/{action}", headers=headers, json=body
    )
    assert response.status_code == 200, (action, response.text)


async def test_each_step_of_the_case_notifies_the_right_people(
    client: Client, app_engine: AsyncEngine, tenant: TenantHandle
) -> None:
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": "li@acme.example.com",
            "display_name": "Li Lei",
            "password": PASSWORD,
            "roles": ["handler"],
        },
    )
    assert response.status_code == 201, response.text
    handler_id = response.json()["id"]
    handler = bearer(await login(client, tenant.slug, "li@acme.example.com"))
    department = await client.post(
        "/api/v1/departments/",
        headers=tenant.headers,
        json={"code": "after-sales", "name_en": "AS"},
    )
    assert department.status_code == 201, department.text

    response = await client.post(
        "/api/v1/cases",
        headers=tenant.headers,
        json={
            "kind": "complaint",
            "channel": "email",
            "title": "Kettle leaks",
            "description": "From the base.",
            "customer": {"nickname": "Sam", "email": "sam@example.net", "locale": "en"},
        },
    )
    assert response.status_code == 201, response.text
    case_id = response.json()["id"]
    admin = tenant.headers
    await _act(client, admin, case_id, "verify", valid=True)
    await _act(
        client,
        admin,
        case_id,
        "assign",
        lead_department_id=department.json()["id"],
        handler_id=handler_id,
        note="Call the customer today",
    )
    await _act(client, handler, case_id, "start")
    await _act(client, handler, case_id, "progress", note="Internal only")
    await _act(
        client,
        handler,
        case_id,
        "progress",
        note="A technician visits Friday",
        visibility="customer",
    )
    await _act(client, handler, case_id, "request_info", question="Which model is it?")
    await _act(client, handler, case_id, "resume")
    await _act(
        client,
        handler,
        case_id,
        "resolve",
        root_cause="seal",
        responsible_party="internal",
        solution_type="replacement",
        result="A new kettle was sent.",
    )
    await _act(client, admin, case_id, "schedule_followup")

    found = await ns.notifications(app_engine, tenant.id)
    customer = [(n.event, n.channel) for n in found if n.recipient_kind == "customer"]
    assert customer == [
        ("acknowledgement", "email"),
        ("progress_update", "email"),
        ("info_request", "email"),
        ("result", "email"),
        ("satisfaction_survey", "email"),  # the survey link (closeloop.surveys)
        ("followup_scheduled", "email"),
    ]
    assert all(n.case_id is not None for n in found)
    assert {n.locale for n in found if n.recipient_kind == "customer"} == {"en"}  # hers
    assert {n.locale for n in found if n.recipient_kind == "user"} == {"zh-CN"}  # the tenant's
    by_event = {n.event: n for n in found if n.recipient_kind == "customer"}
    assert "A technician visits Friday" in by_event["progress_update"].body
    assert "Which model is it?" in by_event["info_request"].body
    assert "Solution: replacement" in by_event["result"].body
    assert "A new kettle was sent." in by_event["result"].body
    assert "Internal only" not in " ".join(n.body for n in found)

    staff = sorted(
        (n.event, n.channel, str(n.recipient_user_id)) for n in found if n.recipient_kind == "user"
    )
    assert staff == [("assignment", "email", handler_id), ("assignment", "inbox", handler_id)]
    (item,) = (await client.get("/api/v1/inbox", headers=handler)).json()["items"]
    assert "Call the customer today" in item["body"]
    assert item["case_id"] == case_id

    listed = await client.get(
        "/api/v1/notifications", headers=admin, params={"case_id": case_id, "event": "result"}
    )
    assert [n["event"] for n in listed.json()["items"]] == ["result"]
