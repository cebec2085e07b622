"""Lifecycle refusals on the real database: statuses (409), roles (403), bodies (400/422),
unknown actions (404), and concurrent actions on one case."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from lifecycle_support import (
    action_url,
    concurrent_client,
    insert_case,
    make_department,
    make_user,
    read_case,
    valid_bodies,
)
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.audit.models import AuditEntry
from closeloop.cases.lifecycle import ALLOWED, Action, Status
from closeloop.cases.models import CaseEvent
from closeloop.db import sessionmaker, transaction
from closeloop.settings import Settings
from support import Client, TenantHandle, fields_of

GHOST = str(uuid.uuid4())  # an id nothing has
UNNAMED_THIRD_PARTY = {
    "root_cause": "carrier lost it",
    "responsible_party": "third_party",
    "solution_type": "refund",
    "result": "refunded",
}


async def _counts(engine: AsyncEngine, tenant_id: uuid.UUID, case_id: uuid.UUID) -> tuple[int, int]:
    """(timeline events of the case, audit entries about it)."""
    async with transaction(sessionmaker(engine), tenant_id) as session:
        events = await session.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        )
        audits = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_id == case_id)
        )
    return int(events or 0), int(audits or 0)


async def test_every_action_a_status_does_not_accept_answers_409_naming_the_allowed_ones(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    department = await make_department(app_engine, tenant.id, "logistics")
    handler_id, _ = await make_user(client, tenant, "handler")
    bodies = valid_bodies(department, handler_id)
    refused = 0
    for status in Status:
        case_id = await insert_case(
            app_engine, tenant.id, status=status.value, handler_id=handler_id,
            resume_status="verified" if status is Status.WAITING_CUSTOMER else None,
        )  # fmt: skip
        for action in Action:
            if action in ALLOWED[status]:
                continue
            response = await client.post(
                action_url(case_id, action), headers=tenant.headers, json=bodies[action]
            )
            assert response.status_code == 409, f"{action} from {status}: {response.text}"
            error = response.json()["error"]
            assert error["code"] == "action_not_allowed"
            assert error["details"]["status"] == status.value
            assert error["details"]["allowed_actions"] == [a.value for a in ALLOWED[status]]
            refused += 1
        case = await read_case(app_engine, tenant.id, case_id)
        assert (case.status, case.version) == (status.value, 1), "a refusal changed the case"
        assert await _counts(app_engine, tenant.id, case_id) == (0, 0)
    assert refused == sum(len(Action) - len(actions) for actions in ALLOWED.values())


async def test_every_action_a_status_accepts_goes_through(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    department = await make_department(app_engine, tenant.id, "logistics")
    handler_id, _ = await make_user(client, tenant, "handler")
    merge_into = await insert_case(app_engine, tenant.id, status="assigned")
    bodies = valid_bodies(department, handler_id, merge_into)
    for status, actions in ALLOWED.items():
        for action in actions:
            case_id = await insert_case(
                app_engine, tenant.id, status=status.value,
                resume_status="verified" if status is Status.WAITING_CUSTOMER else None,
            )  # fmt: skip
            response = await client.post(
                action_url(case_id, action), headers=tenant.headers, json=bodies[action]
            )
            assert response.status_code == 200, f"{action} from {status}: {response.text}"
            assert response.json()["version"] == 2
            assert await _counts(app_engine, tenant.id, case_id) == (1, 1)


@pytest.mark.parametrize(
    ("roles", "status", "action", "code"),
    [
        (("viewer",), "registered", "annotate", "role_required"),
        (("viewer",), "registered", "verify", "role_required"),
        (("handler",), "registered", "verify", "role_required"),
        (("followup",), "verified", "assign", "role_required"),
        (("agent",), "assigned", "start", "role_required"),
        (("agent",), "in_progress", "resolve", "role_required"),
        (("handler",), "in_progress", "progress", "role_required"),  # not the assigned one
        (("handler",), "resolved", "feedback", "role_required"),
        (("agent",), "resolved", "followup", "role_required"),
        (("agent",), "closed", "reopen", "role_required"),
        (("agent",), "closed", "archive", "role_required"),
        (("followup",), "closed", "archive", "role_required"),
    ],
)
async def test_roles_that_may_not_take_an_action_get_403(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    roles: tuple[str, ...],
    status: str,
    action: str,
    code: str,
) -> None:
    department = await make_department(app_engine, tenant.id, "logistics")
    assigned, _ = await make_user(client, tenant, "handler")
    _, headers = await make_user(client, tenant, *roles)
    case_id = await insert_case(
        app_engine, tenant.id, status=status, handler_id=assigned, handler_history=[assigned]
    )
    body = valid_bodies(department, assigned)[Action(action)]
    response = await client.post(action_url(case_id, action), headers=headers, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == code
    assert (await read_case(app_engine, tenant.id, case_id)).version == 1


async def test_the_assigned_handler_works_the_case_and_sees_what_they_may_do(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    handler_id, headers = await make_user(client, tenant, "handler")
    case_id = await insert_case(
        app_engine,
        tenant.id,
        status="assigned",
        handler_id=handler_id,
        handler_history=[handler_id],
    )
    response = await client.post(action_url(case_id, "start"), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "in_progress"
    assert response.json()["allowed_actions"] == ["progress", "resolve", "request_info", "annotate"]


async def test_an_api_key_acts_with_its_scopes(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    created = await client.post(
        "/api/v1/api-keys/", headers=tenant.headers, json={"name": "crm", "scopes": ["agent"]}
    )
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    case_id = await insert_case(app_engine, tenant.id)
    response = await client.post(action_url(case_id, "verify"), headers=key, json={"valid": True})
    assert response.status_code == 200, response.text
    timeline = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers)
    assert timeline.json()["items"][0]["actor"] == f"api_key:{created.json()['id']}"


async def test_an_unknown_action_is_404_naming_it(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(app_engine, tenant.id)
    response = await client.post(action_url(case_id, "escalate"), headers=tenant.headers, json={})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "unknown_action"
    assert "'escalate'" in error["message"]
    assert "verify" in error["details"]["actions"]


async def test_a_case_that_does_not_exist_is_404(client: Client, tenant: TenantHandle) -> None:
    response = await client.post(
        action_url(uuid.uuid4(), "verify"), headers=tenant.headers, json={"valid": True}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = await client.get(f"/api/v1/cases/{uuid.uuid4()}/timeline", headers=tenant.headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("status", "action", "body", "expected", "field"),
    [
        ("registered", "verify", {}, 400, "valid"),
        ("registered", "verify", {"valid": True, "priority": "high"}, 400, "priority"),
        ("registered", "verify", {"valid": False}, 422, "explanation"),
        ("registered", "verify", {"valid": True, "severity_id": GHOST}, 422, "severity_id"),
        ("registered", "verify", {"valid": True, "category_id": GHOST}, 422, "category_id"),
        ("in_progress", "progress", {"note": ""}, 400, "note"),
        ("in_progress", "progress", {"note": "x", "visibility": "everyone"}, 400, "visibility"),
        ("in_progress", "resolve", UNNAMED_THIRD_PARTY, 422, "third_party"),
        ("resolved", "feedback", {"satisfaction": "unsatisfied"}, 422, "reason"),
        ("resolved", "feedback", {"satisfaction": "delighted"}, 422, "satisfaction"),
        ("resolved", "followup", {"outcome": "fine"}, 400, "outcome"),
        ("resolved", "schedule_followup", {"after": "2026-12-01 10:00"}, 400, "after"),
        ("closed", "reopen", {}, 400, "reason"),
        ("verified", "assign", {"lead_department_id": GHOST}, 400, "handler_id"),
    ],
)  # fmt: skip
async def test_a_body_that_does_not_fit_names_the_field_and_changes_nothing(
    client: Client,
    tenant: TenantHandle,
    app_engine: AsyncEngine,
    status: str,
    action: str,
    body: dict[str, object],
    expected: int,
    field: str,
) -> None:
    case_id = await insert_case(app_engine, tenant.id, status=status)
    response = await client.post(action_url(case_id, action), headers=tenant.headers, json=body)
    assert response.status_code == expected, response.text
    assert fields_of(response.json())[0] == field, response.text
    assert (await read_case(app_engine, tenant.id, case_id)).version == 1
    assert await _counts(app_engine, tenant.id, case_id) == (0, 0)


async def test_assign_checks_departments_and_the_handler(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    department = await make_department(app_engine, tenant.id, "logistics")
    handler_id, _ = await make_user(client, tenant, "handler")
    viewer_id, _ = await make_user(client, tenant, "viewer")
    case_id = await insert_case(app_engine, tenant.id, status="verified")
    for body, field in [
        ({"lead_department_id": GHOST, "handler_id": str(handler_id)}, "lead_department_id"),
        (
            {"lead_department_id": str(department), "handler_id": str(handler_id),
             "collaborating_department_ids": [GHOST]},
            "collaborating_department_ids",
        ),
        ({"lead_department_id": str(department), "handler_id": GHOST}, "handler_id"),
        ({"lead_department_id": str(department), "handler_id": str(viewer_id)}, "handler_id"),
    ]:  # fmt: skip
        response = await client.post(
            action_url(case_id, "assign"), headers=tenant.headers, json=body
        )
        assert response.status_code == 422, response.text
        assert fields_of(response.json()["error"]) == [field]
    assert (await read_case(app_engine, tenant.id, case_id)).version == 1


async def test_request_info_waits_on_the_customer_and_resume_returns(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    handler_id, headers = await make_user(client, tenant, "handler")
    case_id = await insert_case(
        app_engine,
        tenant.id,
        status="in_progress",
        handler_id=handler_id,
        handler_history=[handler_id],
    )
    asked = await client.post(
        action_url(case_id, "request_info"), headers=headers, json={"question": "Order number?"}
    )
    assert asked.status_code == 200, asked.text
    assert (asked.json()["status"], asked.json()["resume_status"]) == (
        "waiting_customer",
        "in_progress",
    )
    assert asked.json()["allowed_actions"] == ["resume", "annotate"]
    resumed = await client.post(
        action_url(case_id, "resume"), headers=headers, json={"note": "Got it"}
    )
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["status"], resumed.json()["resume_status"]) == ("in_progress", None)


async def test_reassignment_keeps_the_status_and_every_handler(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    department = await make_department(app_engine, tenant.id, "logistics")
    collaborator = await make_department(app_engine, tenant.id, "warehouse")
    first, _ = await make_user(client, tenant, "handler")
    second, _ = await make_user(client, tenant, "handler")
    case_id = await insert_case(
        app_engine, tenant.id, status="in_progress", handler_id=first, handler_history=[first]
    )
    response = await client.post(
        action_url(case_id, "assign"),
        headers=tenant.headers,
        json={
            "lead_department_id": str(department),
            "handler_id": str(second),
            "collaborating_department_ids": [str(collaborator), str(department), str(collaborator)],
            "deadline": "2026-12-01T18:00:00+08:00",
        },
    )
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["status"] == "in_progress"
    assert case["handler_id"] == str(second)
    assert case["handler_history"] == [str(first), str(second)]
    assert case["collaborating_department_ids"] == [str(collaborator)]
    deadline = dt.datetime.fromisoformat(case["deadline"])
    assert deadline == dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)


async def test_concurrent_actions_on_one_case_are_all_kept(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine, settings: Settings
) -> None:
    case_id = await insert_case(app_engine, tenant.id, status="in_progress")
    notes = [f"note {i}" for i in range(8)]
    async with concurrent_client(settings) as concurrent:
        responses = await asyncio.gather(
            *(
                concurrent.post(
                    action_url(case_id, "progress"), headers=tenant.headers, json={"note": note}
                )
                for note in notes
            )
        )
    assert [r.status_code for r in responses] == [200] * len(notes), [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == list(range(2, 2 + len(notes)))
    assert (await read_case(app_engine, tenant.id, case_id)).version == 1 + len(notes)
    timeline = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=tenant.headers)
    assert sorted(e["data"]["note"] for e in timeline.json()["items"]) == notes
    assert await _counts(app_engine, tenant.id, case_id) == (len(notes), len(notes))
