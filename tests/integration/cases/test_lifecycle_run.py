"""A complaint from intake to the archived record, through the API, as the people who do it.

intake → verify → assign → start → progress → resolve → unsatisfied feedback → reopened
one level up → reassign → start → resolve → satisfied → follow-up scheduled → follow-up
by someone who never handled it (a handler is refused) → closed → archive → edits refused,
annotations still taken; the timeline shows every step in order.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from lifecycle_support import action_url, insert_case, make_user, severity_id
from sqlalchemy.ext.asyncio import AsyncEngine

from support import Client, TenantHandle, fields_of


class Desk:
    """One tenant's people, each acting with their own login."""

    def __init__(self, client: Client, case_id: str) -> None:
        self.client = client
        self.case_id = case_id

    async def act(
        self,
        who: dict[str, str],
        action: str,
        body: dict[str, Any] | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        response = await self.client.post(action_url(self.case_id, action), headers=who, json=body)
        assert response.status_code == status, f"{action}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result


async def _department(client: Client, tenant: TenantHandle, code: str) -> str:
    response = await client.post(
        "/api/v1/departments/", headers=tenant.headers, json={"code": code, "name_en": code}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _default_department(client: Client, tenant: TenantHandle, code: str) -> str:
    response = await client.get("/api/v1/departments/", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return next(str(d["id"]) for d in response.json() if d["code"] == code)


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def test_a_complaint_goes_from_intake_to_the_archive(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    # A new tenant can assign at once: its defaults include the practice's departments.
    logistics = await _default_department(client, tenant, "logistics")
    warehouse = await _department(client, tenant, "warehouse")
    _, agent = await make_user(client, tenant, "agent")
    _, supervisor = await make_user(client, tenant, "supervisor")
    first_id, first = await make_user(client, tenant, "handler", "followup")
    second_id, second = await make_user(client, tenant, "handler")
    _, caller = await make_user(client, tenant, "followup")
    _, viewer = await make_user(client, tenant, "viewer")
    normal = await severity_id(app_engine, tenant.id, "normal")

    created = await client.post(
        "/api/v1/cases/",
        headers=agent,
        json={
            "kind": "complaint",
            "channel": "phone",
            "title": "快递延误一周",
            "description": "订单 8812 承诺两天送达，一周后才收到，包装破损。",
            "customer": {"nickname": "王先生"},
            "demands": ["compensation"],
        },
    )
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    assert created.json()["status"] == "registered"
    desk = Desk(client, case_id)

    case = await desk.act(
        agent, "verify", {"valid": True, "severity_id": str(normal), "note": "ok"}
    )
    assert (case["status"], case["severity"], case["version"]) == ("verified", "normal", 2)
    assert case["allowed_actions"] == ["assign", "request_info", "invalidate", "annotate"]

    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    case = await desk.act(
        supervisor,
        "assign",
        {
            "lead_department_id": logistics,
            "collaborating_department_ids": [warehouse],
            "handler_id": str(first_id),
            "deadline": deadline,
        },
    )
    assert (case["status"], case["handler_id"]) == ("assigned", str(first_id))

    await desk.act(agent, "start", status=403)  # only the assigned handler or a supervisor
    case = await desk.act(first, "start")
    assert case["status"] == "in_progress"
    await desk.act(
        first, "progress", {"note": "已联系快递公司，正在核实", "visibility": "customer"}
    )
    resolution = {
        "root_cause": "快递中转延误",
        "responsible_party": "third_party",
        "third_party": "某快递",
        "solution_type": "coupon",
        "result": "补偿 20 元优惠券",
    }
    case = await desk.act(first, "resolve", resolution)
    assert case["status"] == "resolved"
    assert case["resolution"]["result"] == "补偿 20 元优惠券"

    # Unsatisfied: a reason is required, and the case comes back one level up.
    refused = await desk.act(agent, "feedback", {"satisfaction": "unsatisfied"}, status=422)
    assert fields_of(refused["error"]) == ["reason"]
    case = await desk.act(
        agent, "feedback", {"satisfaction": "unsatisfied", "reason": "包装破损没有处理"}
    )
    assert case["status"] == "reopened"
    assert (case["escalation_level"], case["severity"], case["severity_rank"]) == (1, "urgent", 2)
    assert case["first_satisfaction"] == "unsatisfied"

    # Second handling by another handler; the first stays in the history.
    case = await desk.act(
        supervisor, "assign", {"lead_department_id": logistics, "handler_id": str(second_id)}
    )
    assert case["status"] == "assigned"
    assert case["handler_history"] == [str(first_id), str(second_id)]
    await desk.act(first, "progress", {"note": "still mine?"}, status=403)
    await desk.act(second, "start")
    case = await desk.act(
        second, "resolve", {**resolution, "solution_type": "replacement", "result": "换新并补偿"}
    )
    assert case["status"] == "resolved"
    case = await desk.act(agent, "feedback", {"satisfaction": "satisfied"})
    assert (case["status"], case["first_satisfaction"]) == ("feedback_received", "satisfied")

    case = await desk.act(caller, "schedule_followup", {})
    assert case["status"] == "followup_scheduled"
    resolved_at = dt.datetime.fromisoformat(case["resolved_at"])
    assert dt.datetime.fromisoformat(case["followup_after"]) >= resolved_at + dt.timedelta(days=3)

    # Anyone who ever handled the case is refused the follow-up, whatever their roles.
    for handler in (first, second):
        refused = await desk.act(handler, "followup", {"outcome": "resolved_satisfied"}, status=403)
        assert refused["error"]["code"] == "followup_by_handler"
    case = await desk.act(
        caller,
        "followup",
        {
            "outcome": "resolved_satisfied",
            "note": "客户确认已收到新件",
            "script_answers": {"confirm": "已解决", "satisfaction": "满意"},
        },
    )
    assert (case["status"], case["followup_outcome"]) == ("closed", "resolved_satisfied")

    await desk.act(agent, "archive", status=403)
    case = await desk.act(supervisor, "archive")
    assert case["status"] == "archived"
    assert case["allowed_actions"] == ["annotate"]
    version = case["version"]

    # Frozen: edits refused, other actions refused, annotations taken.
    edit = await client.patch(
        f"/api/v1/cases/{case_id}",
        headers={**supervisor, "If-Match": str(version)},
        json={"title": "changed after archiving"},
    )
    assert edit.status_code == 409, edit.text
    refused = await desk.act(supervisor, "reopen", {"reason": "try"}, status=409)
    assert refused["error"]["code"] == "action_not_allowed"
    assert refused["error"]["details"] == {
        "status": "archived",
        "action": "reopen",
        "allowed_actions": ["annotate"],
    }
    case = await desk.act(agent, "annotate", {"note": "归档后补充：客户来电致谢"})
    assert (case["status"], case["version"]) == ("archived", version + 1)

    read = await client.get(f"/api/v1/cases/{case_id}", headers=viewer)
    assert read.status_code == 200, read.text
    assert (read.json()["status"], read.json()["version"]) == ("archived", version + 1)
    assert read.json()["title"] == "快递延误一周"

    timeline = await client.get(f"/api/v1/cases/{case_id}/timeline", headers=viewer)
    assert timeline.status_code == 200, timeline.text
    events = timeline.json()["items"]
    assert [e["type"] for e in events] == [
        "registered", "verify", "assign", "start", "progress", "resolve", "feedback",
        "assign", "start", "resolve", "feedback", "schedule_followup", "followup",
        "archive", "annotate",
    ]  # fmt: skip
    for before, after in itertools.pairwise(events):
        assert after["from_status"] == before["to_status"], after
        # As times, not strings: "...24Z" sorts after "...24.039980Z".
        assert _time(after["created_at"]) >= _time(before["created_at"])
    assert events[-1]["to_status"] == "archived"
    reopened = events[6]
    assert reopened["to_status"] == "reopened"
    assert reopened["data"]["escalation_level"] == 1
    assert reopened["data"]["severity"] == "urgent"

    audit = await client.get(
        "/api/v1/audit/", headers=supervisor, params={"entity_id": case_id, "limit": 100}
    )
    assert audit.status_code == 200, audit.text
    actions = [entry["action"] for entry in reversed(audit.json()["items"])]
    assert actions[1:] == [f"case.{e['type']}" for e in events[1:]]
    feedback = next(e for e in audit.json()["items"] if e["action"] == "case.feedback"
                    and e["after"].get("status") == "reopened")  # fmt: skip
    assert feedback["before"]["escalation_level"] == 0
    assert feedback["after"]["escalation_level"] == 1
    assert feedback["after"]["severity_code"] == "urgent"
    # the resolution's free text stays in the case; the audit trail keeps a digest of it
    resolve = next(e for e in audit.json()["items"] if e["action"] == "case.resolve")
    assert set(resolve["after"]["resolution"]) == {"sha256", "chars"}
    assert "快递中转延误" not in audit.text


async def test_an_unresolved_followup_reopens_one_level_up_at_the_top_severity(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    critical = await severity_id(app_engine, tenant.id, "critical")
    handler_id, _ = await make_user(client, tenant, "handler")
    _, caller = await make_user(client, tenant, "followup")
    case_id = await insert_case(
        app_engine, tenant.id, status="followup_scheduled", severity_id=critical,
        severity_code="critical", severity_rank=3, escalation_level=1,
        handler_id=handler_id, handler_history=[handler_id],
    )  # fmt: skip
    case = await Desk(client, str(case_id)).act(
        caller, "followup", {"outcome": "unresolved", "note": "still broken"}
    )
    assert case["status"] == "reopened"
    assert (case["escalation_level"], case["severity"], case["severity_rank"]) == (2, "critical", 3)
    assert case["followup_outcome"] == "unresolved"
    assert case["allowed_actions"] == ["annotate"]  # what a follow-up caller may still do


async def test_a_supervisor_reopens_a_closed_case_escalated(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    case_id = await insert_case(
        app_engine, tenant.id, status="closed_invalid", closed_at=dt.datetime.now(dt.UTC)
    )
    _, supervisor = await make_user(client, tenant, "supervisor")
    desk = Desk(client, str(case_id))
    refused = await desk.act(supervisor, "reopen", {}, status=400)
    assert fields_of(refused["error"])[0] == "reason"
    case = await desk.act(supervisor, "reopen", {"reason": "The customer sent proof"})
    assert (case["status"], case["escalation_level"], case["closed_at"]) == ("reopened", 1, None)
    # No severity set: escalation starts at the lowest one.
    assert (case["severity"], case["severity_rank"]) == ("normal", 1)
    assert uuid.UUID(case["event_id"])
