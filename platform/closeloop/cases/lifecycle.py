"""The case lifecycle as data: statuses, actions, where each action may be taken and by whom.

This module is the one place the rules of `docs/cases-lifecycle.md` live. The same
tables decide whether an action is accepted (`check`) and what a caller may do next
(`allowed_actions`, shown in the 409 body and on a case), so the two cannot drift.
A unit test compares `ALLOWED` with the table in the document.

Checks run in this order: the caller's role (403), then the current status (409).

The status groups (`OPEN`, `WAITING`, `ENDED`, ...) are defined here once; SLA clocks,
follow-ups and listing read them. An action's effect is one `CaseChange` value, handed
to the subscribers declared in `closeloop.cases.subscribers`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from closeloop.errors import Conflict, Forbidden
from closeloop.identity.models import Role
from closeloop.identity.principal import Principal

if TYPE_CHECKING:
    from closeloop.cases.models import Case

__all__ = [
    "ALLOWED",
    "ENDED",
    "FOLLOWUP_STAGE",
    "OPEN",
    "RULES",
    "WAITING",
    "Action",
    "CaseChange",
    "CaseLike",
    "Rule",
    "Status",
    "allowed_actions",
    "check",
    "may_take",
]


class Status(enum.StrEnum):
    REGISTERED = "registered"
    VERIFIED = "verified"
    WAITING_CUSTOMER = "waiting_customer"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    FEEDBACK_RECEIVED = "feedback_received"
    FOLLOWUP_SCHEDULED = "followup_scheduled"
    REOPENED = "reopened"
    CLOSED = "closed"
    CLOSED_INVALID = "closed_invalid"
    MERGED = "merged"
    ARCHIVED = "archived"


class Action(enum.StrEnum):
    VERIFY = "verify"
    INVALIDATE = "invalidate"
    REQUEST_INFO = "request_info"
    RESUME = "resume"
    ASSIGN = "assign"
    START = "start"
    PROGRESS = "progress"
    RESOLVE = "resolve"
    FEEDBACK = "feedback"
    SCHEDULE_FOLLOWUP = "schedule_followup"
    FOLLOWUP = "followup"
    REOPEN = "reopen"
    ARCHIVE = "archive"
    ANNOTATE = "annotate"
    MERGE = "merge"


S, A = Status, Action

# The status groups, defined once.
# Not yet resolved: the case is being handled, a passed due time is a breach.
OPEN: frozenset[Status] = frozenset(
    {S.REGISTERED, S.VERIFIED, S.WAITING_CUSTOMER, S.ASSIGNED, S.IN_PROGRESS, S.REOPENED}
)
# Waiting on the customer: the resolution clock is paused.
WAITING: frozenset[Status] = frozenset({S.WAITING_CUSTOMER})
# Resolved, the loop not yet closed: feedback and the follow-up call are to come.
FOLLOWUP_STAGE: frozenset[Status] = frozenset(
    {S.RESOLVED, S.FEEDBACK_RECEIVED, S.FOLLOWUP_SCHEDULED}
)
# Done with: every clock stops, no follow-up is open, only archive/reopen/annotate remain.
ENDED: frozenset[Status] = frozenset({S.CLOSED, S.CLOSED_INVALID, S.MERGED, S.ARCHIVED})

# Status → the actions it accepts, in the order of the document's table.
ALLOWED: dict[Status, tuple[Action, ...]] = {
    S.REGISTERED: (A.VERIFY, A.INVALIDATE, A.REQUEST_INFO, A.ANNOTATE),
    S.VERIFIED: (A.ASSIGN, A.REQUEST_INFO, A.INVALIDATE, A.ANNOTATE, A.MERGE),
    S.WAITING_CUSTOMER: (A.RESUME, A.ANNOTATE, A.MERGE),
    S.ASSIGNED: (A.START, A.ASSIGN, A.PROGRESS, A.REQUEST_INFO, A.ANNOTATE, A.MERGE),
    S.IN_PROGRESS: (A.PROGRESS, A.RESOLVE, A.ASSIGN, A.REQUEST_INFO, A.ANNOTATE, A.MERGE),
    S.RESOLVED: (A.FEEDBACK, A.SCHEDULE_FOLLOWUP, A.FOLLOWUP, A.REOPEN, A.ANNOTATE),
    S.FEEDBACK_RECEIVED: (A.SCHEDULE_FOLLOWUP, A.FOLLOWUP, A.REOPEN, A.ANNOTATE),
    S.FOLLOWUP_SCHEDULED: (A.FOLLOWUP, A.REOPEN, A.ANNOTATE),
    S.REOPENED: (A.ASSIGN, A.START, A.PROGRESS, A.REQUEST_INFO, A.ANNOTATE, A.MERGE),
    S.CLOSED: (A.ARCHIVE, A.REOPEN, A.ANNOTATE),
    S.CLOSED_INVALID: (A.ARCHIVE, A.REOPEN, A.ANNOTATE),
    S.MERGED: (A.ARCHIVE, A.ANNOTATE),
    S.ARCHIVED: (A.ANNOTATE,),
}

_ALLOWED_BY_VALUE: dict[str, tuple[Action, ...]] = {s.value: a for s, a in ALLOWED.items()}

# A target that is not a status: the case keeps its status, or returns to `resume_status`.
STAY = "stay"
RESUME = "resume_status"


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """Who may take an action and where it can lead.

    * `roles`: any of these roles may take it;
    * `assigned_handler`: the case's current handler may take it whatever their roles;
    * `never_by_handlers`: refused to every user in the case's `handler_history`;
    * `targets`: the statuses it can lead to (which one depends on the body),
      `STAY` for "unchanged", `RESUME` for "back where it was".
    """

    roles: frozenset[Role]
    targets: tuple[str, ...]
    assigned_handler: bool = False
    never_by_handlers: bool = False


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


_STAFF = _roles(Role.ADMIN, Role.SUPERVISOR)

RULES: dict[Action, Rule] = {
    A.VERIFY: Rule(_STAFF | {Role.AGENT}, (S.VERIFIED, S.CLOSED_INVALID)),
    A.INVALIDATE: Rule(_STAFF | {Role.AGENT}, (S.CLOSED_INVALID,)),
    A.REQUEST_INFO: Rule(_STAFF | {Role.AGENT, Role.HANDLER}, (S.WAITING_CUSTOMER,)),
    A.RESUME: Rule(_STAFF | {Role.AGENT, Role.HANDLER}, (RESUME,)),
    A.ASSIGN: Rule(_STAFF | {Role.AGENT}, (S.ASSIGNED, STAY)),
    A.START: Rule(_STAFF, (S.IN_PROGRESS,), assigned_handler=True),
    A.PROGRESS: Rule(_STAFF, (STAY,), assigned_handler=True),
    A.RESOLVE: Rule(_STAFF, (S.RESOLVED,), assigned_handler=True),
    A.FEEDBACK: Rule(_STAFF | {Role.AGENT, Role.FOLLOWUP}, (S.FEEDBACK_RECEIVED, S.REOPENED)),
    A.SCHEDULE_FOLLOWUP: Rule(_STAFF | {Role.AGENT, Role.FOLLOWUP}, (S.FOLLOWUP_SCHEDULED,)),
    A.FOLLOWUP: Rule(_STAFF | {Role.FOLLOWUP}, (S.CLOSED, S.REOPENED), never_by_handlers=True),
    A.REOPEN: Rule(_STAFF, (S.REOPENED,)),
    A.ARCHIVE: Rule(_STAFF, (S.ARCHIVED,)),
    A.ANNOTATE: Rule(_STAFF | {Role.AGENT, Role.HANDLER, Role.FOLLOWUP}, (STAY,)),
    A.MERGE: Rule(_STAFF, (S.MERGED,)),
}


class CaseLike(Protocol):
    """What the rules read of a case (the ORM `Case` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def handler_id(self) -> uuid.UUID | None: ...
    @property
    def handler_history(self) -> Sequence[uuid.UUID]: ...


def _refusal(case: CaseLike, principal: Principal, action: Action) -> Forbidden | None:
    """Why `principal` may not take `action` on `case`, or None when they may."""
    rule = RULES[action]
    user = principal.user_id
    if rule.never_by_handlers and user is not None and user in (case.handler_history or ()):
        return Forbidden(
            f"{action} must be done by someone who never handled this case",
            code="followup_by_handler",
        )
    if principal.has_role(*rule.roles):
        return None
    if rule.assigned_handler and user is not None and user == case.handler_id:
        return None
    wanted = sorted(role.value for role in rule.roles)
    if rule.assigned_handler:
        wanted.append("the case's assigned handler")
    return Forbidden(
        f"{action} needs one of: {', '.join(wanted)}",
        code="role_required",
        details={"action": action.value, "allowed": wanted},
    )


def may_take(case: CaseLike, principal: Principal, action: Action) -> bool:
    """Whether `principal`'s roles (and relation to the case) allow `action`, status aside."""
    return _refusal(case, principal, action) is None


def allowed_actions(case: CaseLike, principal: Principal | None = None) -> list[str]:
    """The actions the case's status accepts, narrowed to what `principal` may take.

    Without a principal: everything the status accepts.
    """
    actions = _ALLOWED_BY_VALUE.get(case.status, ())
    if principal is None:
        return [a.value for a in actions]
    return [a.value for a in actions if may_take(case, principal, a)]


def check(case: CaseLike, principal: Principal, action: Action) -> None:
    """Refuse `action` with 403 (role) or 409 (status); return when it may go ahead."""
    refusal = _refusal(case, principal, action)
    if refusal is not None:
        raise refusal
    if action not in _ALLOWED_BY_VALUE.get(case.status, ()):
        allowed = allowed_actions(case, principal)
        raise Conflict(
            f"{action} is not allowed while the case is {case.status}; "
            f"allowed: {', '.join(allowed) or 'nothing'}",
            code="action_not_allowed",
            details={"status": case.status, "action": action.value, "allowed_actions": allowed},
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CaseChange:
    """What one lifecycle action did to a case: the one value its subscribers receive.

    * `case`: the locked case, as the action left it (`version` already increased);
    * `before` / `after`: the case's lifecycle fields (`closeloop.cases.snapshot`) before
      and after the action;
    * `data` and `visibility`: the details the timeline keeps, and who may see them;
    * `actor`, `at`: who took the action, and when (it dates the event and the clocks);
    * `event_id`: the id of the timeline event the change is recorded as.
    """

    case: Case
    action: Action
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]
    data: dict[str, Any]
    visibility: Literal["internal", "customer"]
    at: dt.datetime
    event_id: uuid.UUID

    @property
    def from_status(self) -> str:
        return str(self.before["status"])

    @property
    def to_status(self) -> str:
        return str(self.after["status"])

    @property
    def status_changed(self) -> bool:
        return self.from_status != self.to_status
