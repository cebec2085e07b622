"""`merge`: a duplicate case is closed with a link to the case it duplicates, through the API.

Both timelines show it, the customer's page says so, the duplicate's clocks stop, the
audit trail records it; the target must be another case of the tenant, still handled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from case_support import create_case, list_items
from lifecycle_support import action_url, make_user

from closeloop.settings import Settings
from closeloop.web.app import create_app
from support import Client, TenantHandle, make_tenant, served


async def _act(
    client: Client,
    headers: dict[str, str],
    case_id: str,
    action: str,
    body: dict[str, Any] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    response = await client.post(action_url(case_id, action), headers=headers, json=body or {})
    assert response.status_code == status, f"{action}: {response.status_code} {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def _verified(client: Client, headers: dict[str, str]) -> dict[str, Any]:
    case = await create_case(client, headers)
    return await _act(client, headers, case["id"], "verify", {"valid": True})


async def _timeline(
    client: Client, headers: dict[str, str], case_id: str, query: str = ""
) -> list[dict[str, Any]]:
    return await list_items(client, headers, f"/api/v1/cases/{case_id}/timeline{query}")


async def test_a_duplicate_is_merged_into_the_case_it_duplicates(
    client: Client, tenant: TenantHandle
) -> None:
    _, supervisor = await make_user(client, tenant, "supervisor")
    original = await _verified(client, tenant.headers)
    filed = await client.post(
        f"/public/{tenant.slug}/cases",
        json={"title": "快递延误", "description": "同一个订单又来问了一次。", "nickname": "小王"},
    )
    assert filed.status_code == 201, filed.text
    listed = await list_items(client, tenant.headers, "/api/v1/cases")
    filed_id = next(c["id"] for c in listed if c["number"] == filed.json()["number"])
    duplicate = await _act(client, tenant.headers, filed_id, "verify", {"valid": True})
    before = (await client.get(f"/api/v1/cases/{duplicate['id']}/sla", headers=supervisor)).json()
    assert any(c["state"] == "running" for c in before["clocks"])

    merged = await _act(
        client,
        supervisor,
        duplicate["id"],
        "merge",
        {"into": original["number"], "note": "Handled together with your earlier complaint."},
    )
    assert merged["status"] == "merged"
    assert merged["merged_into_id"] == original["id"]
    assert merged["closed_at"] is not None
    assert merged["version"] == duplicate["version"] + 1
    assert merged["allowed_actions"] == ["archive", "annotate"]
    read = await client.get(f"/api/v1/cases/{duplicate['id']}", headers=supervisor)
    assert (read.json()["status"], read.json()["merged_into_id"]) == ("merged", original["id"])
    untouched = await client.get(f"/api/v1/cases/{original['id']}", headers=supervisor)
    assert untouched.json()["merged_into_id"] is None

    # the duplicate's timeline: a customer-visible `merge` naming the other case
    event = (await _timeline(client, supervisor, duplicate["id"]))[-1]
    assert (event["type"], event["visibility"]) == ("merge", "customer")
    assert (event["from_status"], event["to_status"]) == ("verified", "merged")
    assert event["data"]["into_id"] == original["id"]
    assert event["data"]["into_number"] == original["number"]
    assert event["id"] == merged["event_id"]
    shown = await _timeline(client, supervisor, duplicate["id"], "?visibility=customer")
    assert shown[-1]["type"] == "merge"

    # the other case's timeline: an internal `merged_in` naming the duplicate
    other = (await _timeline(client, supervisor, original["id"]))[-1]
    assert (other["type"], other["visibility"]) == ("merged_in", "internal")
    assert other["data"]["case_id"] == duplicate["id"]
    assert other["data"]["number"] == duplicate["number"]

    # the customer's status page says so
    page = await client.get(filed.json()["status_url"])
    assert page.status_code == 200, page.text
    assert page.json()["status"] == "merged"
    assert page.json()["timeline"][-1] == {
        "type": "merge",
        "at": page.json()["timeline"][-1]["at"],
        "status": "merged",
        "message": "Handled together with your earlier complaint.",
    }

    # its clocks stopped; the other case's still run
    sla = (await client.get(f"/api/v1/cases/{duplicate['id']}/sla", headers=supervisor)).json()
    assert sla["clocks"]
    assert {c["state"] for c in sla["clocks"]} <= {"stopped", "breached"}
    assert all(c["state"] != "running" for c in sla["clocks"])
    assert sla["due_at"] is None
    kept = (await client.get(f"/api/v1/cases/{original['id']}/sla", headers=supervisor)).json()
    assert any(c["state"] == "running" for c in kept["clocks"])

    # the audit trail
    audit = await list_items(client, tenant.headers, "/api/v1/audit")
    entry = next(e for e in audit if e["action"] == "case.merge")
    assert entry["entity_id"] == duplicate["id"]
    assert entry["after"]["status"] == "merged"
    assert entry["after"]["merged_into_id"] == original["id"]
    assert entry["after"]["event_id"] == merged["event_id"]
    assert entry["before"]["status"] == "verified"


async def test_a_merged_case_refuses_further_work_as_an_ended_case_does(
    client: Client, tenant: TenantHandle
) -> None:
    original = await _verified(client, tenant.headers)
    duplicate = await _verified(client, tenant.headers)
    await _act(client, tenant.headers, duplicate["id"], "merge", {"into": original["id"]})
    for action, body in (
        ("progress", {"note": "More work"}),
        ("reopen", {"reason": "Customer called"}),
        ("request_info", {"question": "Which order?"}),
        ("merge", {"into": original["id"]}),
    ):
        refused = await _act(client, tenant.headers, duplicate["id"], action, body, status=409)
        assert refused["error"]["code"] == "action_not_allowed"
        assert refused["error"]["details"]["status"] == "merged"
        assert refused["error"]["details"]["allowed_actions"] == ["archive", "annotate"]
    await _act(client, tenant.headers, duplicate["id"], "annotate", {"note": "See the other case"})
    archived = await _act(client, tenant.headers, duplicate["id"], "archive")
    assert archived["status"] == "archived"
    assert archived["merged_into_id"] == original["id"]


async def test_a_case_is_not_merged_into_itself_nor_into_a_merged_or_ended_case(
    client: Client, tenant: TenantHandle
) -> None:
    first = await _verified(client, tenant.headers)
    second = await _verified(client, tenant.headers)
    for into in (first["id"], first["number"]):
        refused = await _act(client, tenant.headers, first["id"], "merge", {"into": into}, 422)
        assert refused["error"]["code"] == "merge_into_self"
    await _act(client, tenant.headers, second["id"], "merge", {"into": first["id"]})

    # back the other way: the second case is merged, so no cycle can form
    refused = await _act(client, tenant.headers, first["id"], "merge", {"into": second["id"]}, 409)
    assert refused["error"]["code"] == "merge_target_ended"
    assert refused["error"]["details"]["merged_into_id"] == first["id"]

    invalid = await create_case(client, tenant.headers)
    await _act(client, tenant.headers, invalid["id"], "invalidate", {"explanation": "Spam"})
    third = await _verified(client, tenant.headers)
    refused = await _act(client, tenant.headers, third["id"], "merge", {"into": invalid["id"]}, 409)
    assert refused["error"]["code"] == "merge_target_ended"
    assert refused["error"]["details"]["status"] == "closed_invalid"
    third_now = await client.get(f"/api/v1/cases/{third['id']}", headers=tenant.headers)
    assert (third_now.json()["status"], third_now.json()["version"]) == ("verified", 2)


async def test_another_tenants_case_or_an_unknown_one_answers_404(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    theirs = await _verified(client, other_tenant.headers)
    ours = await _verified(client, tenant.headers)
    for into in (theirs["id"], "CT-1999-00001", "00000000-0000-0000-0000-000000000000"):
        refused = await _act(client, tenant.headers, ours["id"], "merge", {"into": into}, 404)
        assert refused["error"]["code"] == "merge_target_not_found"
    # nothing changed on either side
    assert (await _timeline(client, tenant.headers, ours["id"]))[-1]["type"] == "verify"
    assert (await _timeline(client, other_tenant.headers, theirs["id"]))[-1]["type"] == "verify"
    missing = await _act(client, tenant.headers, ours["id"], "merge", {}, 400)
    assert missing["error"]["details"]["fields"][0]["field"] == "into"


async def test_supervisors_and_admins_merge_handlers_and_agents_may_not(
    client: Client, tenant: TenantHandle
) -> None:
    handler_id, handler = await make_user(client, tenant, "handler")
    _, agent = await make_user(client, tenant, "agent")
    original = await _verified(client, tenant.headers)
    duplicate = await _verified(client, tenant.headers)
    departments = (await client.get("/api/v1/departments/", headers=tenant.headers)).json()
    await _act(
        client,
        tenant.headers,
        duplicate["id"],
        "assign",
        {"lead_department_id": departments[0]["id"], "handler_id": str(handler_id)},
    )
    for who in (handler, agent):  # the assigned handler too
        refused = await _act(
            client, who, duplicate["id"], "merge", {"into": original["id"]}, status=403
        )
        assert refused["error"]["code"] == "role_required"
    shown = await client.get(f"/api/v1/cases/{duplicate['id']}", headers=handler)
    assert "merge" not in shown.json()["allowed_actions"]
    registered = await create_case(client, tenant.headers)
    refused = await _act(
        client, tenant.headers, registered["id"], "merge", {"into": original["id"]}, 409
    )
    assert refused["error"]["details"]["allowed_actions"] == [
        "verify",
        "invalidate",
        "request_info",
        "annotate",
    ]


async def test_the_openapi_documents_merge(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    merge = schema["paths"]["/api/v1/cases/{case_id}/actions/merge"]["post"]
    body = merge["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Merge"}
    assert merge["requestBody"]["required"] is True
    assert "merge {into" in merge["description"]
    assert {"404", "409"} <= set(merge["responses"])
    components = schema["components"]["schemas"]
    assert components["Merge"]["required"] == ["into"]
    assert "merged_into_id" in components["CaseState"]["properties"]


async def test_two_cases_merged_into_each_other_at_once_never_answer_500(
    settings: Settings,
) -> None:
    """A into B and B into A at the same moment lock the two rows in opposite orders; the
    loser of PostgreSQL's deadlock detection answers 409 `concurrent_change` (its
    transaction rolled back, nothing changed), or waits and finds its target merged."""
    async with served(create_app(settings)) as concurrent:
        tenant = await make_tenant(concurrent, "acme")
        for _ in range(3):
            first = await _verified(concurrent, tenant.headers)
            second = await _verified(concurrent, tenant.headers)
            answers = await asyncio.gather(
                concurrent.post(
                    action_url(first["id"], "merge"),
                    headers=tenant.headers,
                    json={"into": second["id"]},
                ),
                concurrent.post(
                    action_url(second["id"], "merge"),
                    headers=tenant.headers,
                    json={"into": first["id"]},
                ),
            )
            codes = sorted(answer.status_code for answer in answers)
            assert codes == [200, 409], [answer.text for answer in answers]
            refused = next(answer for answer in answers if answer.status_code == 409)
            assert refused.json()["error"]["code"] in {"concurrent_change", "merge_target_ended"}
            states = [
                (await concurrent.get(f"/api/v1/cases/{c['id']}", headers=tenant.headers)).json()
                for c in (first, second)
            ]
            assert sorted(state["status"] for state in states) == ["merged", "verified"]
