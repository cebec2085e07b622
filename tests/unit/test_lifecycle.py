"""The lifecycle rules without a database: the table, the roles, the refusals, the bodies."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from pathlib import Path

import pytest

from closeloop.cases.action_schemas import ACTION_BODIES, Assign, Progress, Verify, decode_body
from closeloop.cases.actions import _APPLIERS
from closeloop.cases.lifecycle import (
    ALLOWED,
    ENDED,
    FOLLOWUP_STAGE,
    OPEN,
    RULES,
    WAITING,
    Action,
    Status,
    allowed_actions,
    check,
)
from closeloop.cases.subscribers import SUBSCRIBERS
from closeloop.errors import ApiError, Conflict, Forbidden
from closeloop.identity.principal import Principal

DOC = Path(__file__).resolve().parents[2] / "docs" / "cases-lifecycle.md"
TENANT = uuid.uuid4()


@dataclasses.dataclass
class FakeCase:
    status: str
    handler_id: uuid.UUID | None = None
    handler_history: list[uuid.UUID] = dataclasses.field(default_factory=list)


def user(*roles: str) -> Principal:
    return Principal(
        tenant_id=TENANT, roles=frozenset(roles), permissions=frozenset(), user_id=uuid.uuid4()
    )


def _doc_table() -> dict[str, list[str]]:
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\|\s*`(\w+)`\s*\|\s*([^|]+)\|", line)
        if found:
            actions = re.findall(r"[a-z_]+", found.group(2).split("(")[0])
            rows[found.group(1)] = actions
    return rows


def test_the_table_is_the_documented_one() -> None:
    documented = _doc_table()
    assert documented == {s.value: [a.value for a in actions] for s, actions in ALLOWED.items()}


def test_every_status_and_action_is_covered() -> None:
    assert set(ALLOWED) == set(Status)
    assert set(RULES) == set(Action) == set(ACTION_BODIES) == set(_APPLIERS)
    for status, actions in ALLOWED.items():
        assert Action.ANNOTATE in actions, status
    reachable = {a for actions in ALLOWED.values() for a in actions}
    assert reachable == set(Action)


def test_archived_accepts_only_annotations() -> None:
    admin = user("admin")
    case = FakeCase(Status.ARCHIVED)
    assert allowed_actions(case, admin) == ["annotate"]
    with pytest.raises(Conflict) as refused:
        check(case, admin, Action.REOPEN)
    assert refused.value.code == "action_not_allowed"
    assert refused.value.details == {
        "status": "archived",
        "action": "reopen",
        "allowed_actions": ["annotate"],
    }


@pytest.mark.parametrize("status", list(Status))
def test_a_refused_status_names_what_it_accepts(status: Status) -> None:
    admin = user("admin")
    case = FakeCase(status)
    for action in Action:
        if action in ALLOWED[status]:
            check(case, admin, action)
            continue
        with pytest.raises(Conflict) as refused:
            check(case, admin, action)
        assert refused.value.details["allowed_actions"] == [a.value for a in ALLOWED[status]]


def test_viewers_may_not_even_annotate() -> None:
    with pytest.raises(Forbidden) as refused:
        check(FakeCase(Status.REGISTERED), user("viewer"), Action.ANNOTATE)
    assert refused.value.code == "role_required"
    assert allowed_actions(FakeCase(Status.REGISTERED), user("viewer")) == []


def test_only_the_assigned_handler_works_the_case() -> None:
    assigned, other = user("handler"), user("handler")
    case = FakeCase(
        Status.ASSIGNED, handler_id=assigned.user_id, handler_history=[assigned.user_id]
    )
    check(case, assigned, Action.START)
    with pytest.raises(Forbidden):
        check(case, other, Action.START)
    assert allowed_actions(case, assigned) == ["start", "progress", "request_info", "annotate"]
    assert allowed_actions(case, other) == ["request_info", "annotate"]
    check(case, user("supervisor"), Action.START)


def test_followup_is_never_by_a_handler_of_the_case() -> None:
    first, second = user("handler", "followup"), user("followup")
    supervisor = user("supervisor")
    case = FakeCase(
        Status.RESOLVED,
        handler_id=supervisor.user_id,
        handler_history=[first.user_id, supervisor.user_id],
    )
    for handler in (first, supervisor):
        with pytest.raises(Forbidden) as refused:
            check(case, handler, Action.FOLLOWUP)
        assert refused.value.code == "followup_by_handler"
        assert "followup" not in allowed_actions(case, handler)
    check(case, second, Action.FOLLOWUP)


def test_role_is_checked_before_status() -> None:
    with pytest.raises(Forbidden):
        check(FakeCase(Status.ARCHIVED), user("agent"), Action.ARCHIVE)


def test_api_keys_act_by_their_scopes() -> None:
    key = Principal(
        tenant_id=TENANT,
        roles=frozenset({"agent"}),
        permissions=frozenset(),
        api_key_id=uuid.uuid4(),
    )
    assert allowed_actions(FakeCase(Status.REGISTERED), key) == [
        "verify",
        "invalidate",
        "request_info",
        "annotate",
    ]
    assert allowed_actions(FakeCase(Status.ASSIGNED), key) == ["assign", "request_info", "annotate"]


def test_bodies_are_checked_per_action() -> None:
    assert decode_body(Action.VERIFY, {"valid": True}) == Verify(valid=True)
    assert decode_body(Action.START, None) is not None
    assert decode_body(Action.PROGRESS, {"note": "called back"}) == Progress(note="called back")
    for action, raw, field in [
        (Action.PROGRESS, {}, "note"),
        (Action.PROGRESS, {"note": "x", "visibility": "public"}, "visibility"),
        (Action.VERIFY, {"valid": "yes"}, "valid"),
        (Action.VERIFY, {"valid": True, "colour": "red"}, "colour"),
        (
            Action.ASSIGN,
            {"lead_department_id": str(uuid.uuid4()), "handler_id": "nope"},
            "handler_id",
        ),
        (Action.SCHEDULE_FOLLOWUP, {"after": "2026-12-01T10:00:00"}, "after"),
    ]:
        with pytest.raises(ApiError) as refused:
            decode_body(action, raw)
        assert refused.value.status_code == 400
        assert refused.value.details["fields"][0]["field"] == field, refused.value.message
        assert f"`{field}`" in refused.value.message


def test_deadlines_keep_their_offset() -> None:
    body = decode_body(
        Action.ASSIGN,
        {
            "lead_department_id": str(uuid.uuid4()),
            "handler_id": str(uuid.uuid4()),
            "deadline": "2026-12-01T10:00:00+08:00",
        },
    )
    assert isinstance(body, Assign)
    assert body.deadline is not None
    assert body.deadline.utcoffset() == dt.timedelta(hours=8)


def test_the_status_groups_are_the_documented_ones() -> None:
    documented = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\|\s*\*\*(\w+)\*\*\s*\|\s*([^|]+)\|", line)
        if found:
            documented[found.group(1)] = set(re.findall(r"[a-z_]+", found.group(2)))
    groups = {"OPEN": OPEN, "WAITING": WAITING, "FOLLOWUP_STAGE": FOLLOWUP_STAGE, "ENDED": ENDED}
    assert documented == {name: {s.value for s in group} for name, group in groups.items()}
    assert len(OPEN) + len(FOLLOWUP_STAGE) + len(ENDED) == len(Status)
    assert set(Status) == OPEN | FOLLOWUP_STAGE | ENDED
    assert WAITING <= OPEN


def test_the_subscribers_run_in_the_documented_order() -> None:
    text = DOC.read_text(encoding="utf-8").split("## What an action sets off")[1]
    documented = re.findall(r"^\d\. [^(]+\(`([\w.]+)`\)", text, flags=re.MULTILINE)
    assert documented == [subscriber.__module__ for _, subscriber in SUBSCRIBERS]
