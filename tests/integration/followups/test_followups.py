"""Follow-ups (回访): scheduled by the tenant's calendar after resolution, assigned to a
follow-up user who never handled the case, shown in their queue with the tenant's script,
and closed by the `followup` action."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from followup_support import (
    act,
    department,
    insert_resolved_case,
    make_user,
    queue,
    resolved_case,
    tasks_of,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction
from closeloop.followups.service import schedule_unanswered
from closeloop.queue import schedule
from closeloop.queue.registry import actor_spec
from closeloop.sla import calendar_service
from support import Client, TenantHandle, fields_of

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_a_satisfied_answer_puts_the_followup_in_a_followup_users_queue(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    # The first handler also holds the follow-up role: they must never get the follow-up.
    first = await make_user(client, tenant, "handler", "followup")
    caller_id, caller = await make_user(client, tenant, "followup")
    _, supervisor = await make_user(client, tenant, "supervisor")
    _, viewer = await make_user(client, tenant, "viewer")
    case_id = await resolved_case(client, tenant, first, await department(client, tenant))
    assert await tasks_of(app_engine, tenant.id, case_id) == []

    await act(client, tenant.headers, case_id, "feedback", {"satisfaction": "satisfied"})
    [task] = await tasks_of(app_engine, tenant.id, case_id)
    assert (task.status, task.assignee_id) == ("open", caller_id)
    assert task.due_from < task.due_by

    [item] = await queue(client, caller)
    assert item["id"] == str(task.id)
    assert (item["assignee_id"], item["status"], item["overdue"]) == (str(caller_id), "open", False)
    assert item["case"]["id"] == case_id
    assert item["case"]["first_satisfaction"] == "satisfied"
    assert item["case"]["resolution"]["result"] == "Coupon of 20 yuan sent"
    assert item["case"]["customer_nickname"] == "Mr Wang"
    # The tenant's script (DESIGN §1.7), in the tenant's language unless asked otherwise.
    assert item["locale"] == "zh-CN"
    steps = [line["step"] for line in item["script"]]
    assert steps[0] == "introduce"
    assert "ask_satisfaction" in steps
    assert "回访" in item["script"][0]["text"]
    [english] = await queue(client, caller, locale="en")
    assert english["script"][0]["text"].isascii()

    assert await queue(client, first[1]) == []  # the handler's own queue stays empty
    assert [i["id"] for i in await queue(client, supervisor)] == [str(task.id)]
    assert [i["id"] for i in await queue(client, supervisor, due="upcoming")] == [str(task.id)]
    assert await queue(client, supervisor, due="overdue") == []
    await queue(client, viewer, expect=403)
    one = await client.get(f"/api/v1/followups/{task.id}", headers=caller)
    assert one.status_code == 200, one.text
    hidden = await client.get(f"/api/v1/followups/{task.id}", headers=first[1])
    assert hidden.status_code == 404


async def test_followups_go_to_the_least_loaded_followup_user_in_turn(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    handler = await make_user(client, tenant, "handler")
    a_id, _ = await make_user(client, tenant, "followup")
    b_id, _ = await make_user(client, tenant, "followup")
    inactive_id, _ = await make_user(client, tenant, "followup")
    switched_off = await client.patch(
        f"/api/v1/users/{inactive_id}", headers=tenant.headers, json={"active": False}
    )
    assert switched_off.status_code == 200, switched_off.text
    department_id = await department(client, tenant)

    assignees = []
    for _ in range(3):
        case_id = await resolved_case(client, tenant, handler, department_id)
        await act(client, tenant.headers, case_id, "feedback", {"satisfaction": "satisfied"})
        [task] = await tasks_of(app_engine, tenant.id, case_id)
        assignees.append(task.assignee_id)
    assert assignees == [a_id, b_id, a_id]


async def test_without_a_followup_user_it_waits_unassigned_for_a_supervisor(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    handler_id, handler = await make_user(client, tenant, "handler", "followup")
    _, supervisor = await make_user(client, tenant, "supervisor")
    case_id = await resolved_case(
        client, tenant, (handler_id, handler), await department(client, tenant)
    )
    await act(client, tenant.headers, case_id, "feedback", {"satisfaction": "satisfied"})
    [task] = await tasks_of(app_engine, tenant.id, case_id)
    assert task.assignee_id is None  # the only follow-up user handled the case

    [item] = await queue(client, supervisor, assignee="unassigned")
    assert item["id"] == str(task.id)
    url = f"/api/v1/followups/{task.id}/assign"
    refused = await client.post(url, headers=supervisor, json={"assignee_id": str(handler_id)})
    assert refused.status_code == 422, refused.text
    assert fields_of(refused.json()["error"]) == ["assignee_id"]
    caller_id, caller = await make_user(client, tenant, "followup")
    not_theirs = await client.post(url, headers=caller, json={"assignee_id": str(caller_id)})
    assert not_theirs.status_code == 403
    given = await client.post(url, headers=supervisor, json={"assignee_id": str(caller_id)})
    assert given.status_code == 200, given.text
    assert given.json()["assignee_id"] == str(caller_id)
    assert [i["id"] for i in await queue(client, caller)] == [str(task.id)]


async def test_the_due_window_follows_the_tenant_calendar(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    # Resolved on Monday 2 November 2026, 10:00 in Shanghai; the window is 3 to 5 working days.
    resolved_at = _at("2026-11-02T10:00")
    before = await insert_resolved_case(app_engine, tenant.id, resolved_at=resolved_at)
    await act(client, tenant.headers, before, "feedback", {"satisfaction": "satisfied"})
    [task] = await tasks_of(app_engine, tenant.id, before)
    assert (task.due_from, task.due_by) == (_at("2026-11-05T10:00"), _at("2026-11-09T10:00"))

    # The tenant makes Wednesday 4 November a holiday: the window moves a working day on.
    calendars = await client.get("/api/v1/calendars/", headers=tenant.headers)
    assert calendars.status_code == 200, calendars.text
    body = calendars.json()
    [default] = [c for c in (body["items"] if isinstance(body, dict) else body) if c["is_default"]]
    changed = await client.patch(
        f"/api/v1/calendars/{default['id']}",
        headers=tenant.headers,
        json={"extra_holidays": ["2026-11-04"]},
    )
    assert changed.status_code == 200, changed.text
    after = await insert_resolved_case(app_engine, tenant.id, resolved_at=resolved_at)
    await act(client, tenant.headers, after, "feedback", {"satisfaction": "satisfied"})
    [task] = await tasks_of(app_engine, tenant.id, after)
    assert (task.due_from, task.due_by) == (_at("2026-11-06T10:00"), _at("2026-11-10T10:00"))

    # `schedule_followup` with a later date moves the start; the case shows it too.
    later = _at("2026-11-12T15:00")
    state = await act(
        client, tenant.headers, after, "schedule_followup", {"after": later.isoformat()}
    )
    assert state["status"] == "followup_scheduled"
    [task] = await tasks_of(app_engine, tenant.id, after)
    assert (task.due_from, task.due_by) == (later, later)


async def test_completing_the_followup_closes_it_and_reopening_cancels_it(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    handler = await make_user(client, tenant, "handler")
    caller_id, caller = await make_user(client, tenant, "followup")
    department_id = await department(client, tenant)

    done_case = await resolved_case(client, tenant, handler, department_id)
    await act(client, tenant.headers, done_case, "feedback", {"satisfaction": "satisfied"})
    await act(client, handler[1], done_case, "followup", {"outcome": "resolved_satisfied"}, 403)
    state = await act(
        client, caller, done_case, "followup", {"outcome": "resolved_satisfied", "note": "ok"}
    )
    assert state["status"] == "closed"
    [task] = await tasks_of(app_engine, tenant.id, done_case)
    assert (task.status, task.outcome, task.done_by) == (
        "done",
        "resolved_satisfied",
        f"user:{caller_id}",
    )
    assert task.done_at is not None
    assert await queue(client, caller) == []
    [done] = await queue(client, caller, status="done")
    assert done["outcome"] == "resolved_satisfied"

    # Unresolved: the follow-up is done and the case comes back one level up.
    unresolved = await resolved_case(client, tenant, handler, department_id)
    await act(client, tenant.headers, unresolved, "feedback", {"satisfaction": "satisfied"})
    state = await act(client, caller, unresolved, "followup", {"outcome": "unresolved"})
    assert (state["status"], state["escalation_level"]) == ("reopened", 1)
    [task] = await tasks_of(app_engine, tenant.id, unresolved)
    assert (task.status, task.outcome) == ("done", "unresolved")

    # Reopened by a supervisor before anyone called: the open follow-up is cancelled.
    reopened = await resolved_case(client, tenant, handler, department_id)
    await act(client, tenant.headers, reopened, "feedback", {"satisfaction": "satisfied"})
    await act(client, tenant.headers, reopened, "reopen", {"reason": "customer called again"})
    [task] = await tasks_of(app_engine, tenant.id, reopened)
    assert task.status == "cancelled"
    assert await queue(client, caller) == []


async def test_an_unanswered_case_is_followed_up_after_the_first_feedback_window(
    client: Client, tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    caller_id, _ = await make_user(client, tenant, "followup")
    now = dt.datetime.now(dt.UTC)
    calendar_service.clear_cache()
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        calendar = await calendar_service.load(session)
    # Resolved 10 calendar days ago (past 2 working days whatever the holidays), and now.
    old = await insert_resolved_case(app_engine, tenant.id, resolved_at=now - dt.timedelta(days=10))
    fresh = await insert_resolved_case(app_engine, tenant.id, resolved_at=now)
    answered = await insert_resolved_case(
        app_engine,
        tenant.id,
        status="feedback_received",
        resolved_at=now - dt.timedelta(days=10),
        first_satisfaction="satisfied",
    )

    # The scheduler's sweep, as a worker runs it; once per period and tenant.
    spec = actor_spec("schedule_unanswered_followups")  # imports the actor modules
    assert "schedule_unanswered_followups" in {s.actor_name for s in schedule.schedules()}
    message_id, kwargs = str(uuid.uuid4()), {"tenant_id": str(tenant.id)}
    factory = sessionmaker(app_engine)
    assert await spec.handle(message_id=message_id, kwargs=kwargs, sessionmaker=factory)
    assert not await spec.handle(message_id=message_id, kwargs=kwargs, sessionmaker=factory)
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        assert await schedule_unanswered(session) == 0  # a later sweep finds nothing new

    [task] = await tasks_of(app_engine, tenant.id, old)
    assert (task.status, task.assignee_id) == ("open", caller_id)
    assert task.due_from == calendar.add_working_days(now - dt.timedelta(days=10), 3)
    assert await tasks_of(app_engine, tenant.id, fresh) == []
    assert await tasks_of(app_engine, tenant.id, answered) == []


async def test_another_tenant_sees_none_of_the_followups(
    client: Client, tenant: TenantHandle, other_tenant: TenantHandle, app_engine: AsyncEngine
) -> None:
    await make_user(client, tenant, "followup")
    case_id = await insert_resolved_case(app_engine, tenant.id)
    await act(client, tenant.headers, case_id, "feedback", {"satisfaction": "satisfied"})
    [task] = await tasks_of(app_engine, tenant.id, case_id)
    assert await queue(client, other_tenant.headers) == []
    response = await client.get(f"/api/v1/followups/{task.id}", headers=other_tenant.headers)
    assert response.status_code == 404
    assert uuid.UUID(str(task.id))
