"""Plugins at intake: extra fields, refusals and warnings, suggestions, severity,
entitlement, resolution options and correlation.

`IntakeService.register` calls, in its order:

1. `run_intake_plugins(...)` after its own checks and before anything is written or
   numbered: every enabled plugin's `extra_fields` (then `extra[name]` is checked:
   422 naming `extra.<name>`), then, concurrently, `validate_intake`,
   `classify_case`, `assess_severity`, `check_entitlement`, `suggest_resolution`
   and `correlate_case`. Any `validate_intake` error answers 422 naming the field and
   nothing is stored. The highest assessed severity above the intake's replaces it
   (a severity is raised, never lowered).
2. `IntakeRun.settle(case, registered, actor=...)` once the case row exists: findings, timeline,
   audit, failure counting, and correlation: the tenant's cases with the same key
   within the window are linked in the finding's notes, and at the threshold a
   `correlation_alert` event is added and the supervisors (else the admins) told,
   once per plugin, key and window. When an enabled plugin implements
   `on_case_event`, the `registered` event is handed to it through a worker, as
   every lifecycle action is (`closeloop.plugins.lifecycle`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import record_on_case
from closeloop.cases.models import Case, CaseEvent
from closeloop.cases.timeline import add_event
from closeloop.config import current as config_now
from closeloop.config.models import Severity
from closeloop.db import new_id, utcnow
from closeloop.errors import UnprocessableEntity
from closeloop.identity.models import Role
from closeloop.notify import events as notify_events
from closeloop.notify.service import notify_staff
from closeloop.plugins.findings import linked_cases, settle, staff_with_role
from closeloop.plugins.lifecycle import after_case_event
from closeloop.plugins.tenant import Outcome, TenantPlugins
from closeloop.plugins.types import (
    CaseSnapshot,
    Correlation,
    FieldIssue,
    FieldSpec,
    SeverityAssessment,
)
from closeloop.settings import Settings

if TYPE_CHECKING:
    from closeloop.cases.schemas import CaseCreate

__all__ = ["INTAKE_HOOKS", "IntakeRun", "check_extra", "run_intake_plugins"]

INTAKE_HOOKS = (
    "validate_intake",
    "classify_case",
    "assess_severity",
    "check_entitlement",
    "suggest_resolution",
    "correlate_case",
)
_CORRELATION_LOCK_CLASS = 0x434F5252  # "CORR"


def _invalid(field: str, message: str, **details: Any) -> UnprocessableEntity:
    return UnprocessableEntity(f"{field}: {message}", field=field, details=details)


def _type_problem(spec: FieldSpec, value: Any) -> str | None:
    """Why `value` does not fit `spec`, or None."""
    kind = spec.type
    if kind == "string" and not isinstance(value, str):
        return "must be text"
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        return "must be a whole number"
    if kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "must be a number"
    if kind == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    if kind in ("date", "datetime"):
        parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
        if not isinstance(value, str):
            return f"must be an ISO 8601 {kind} as text"
        try:
            parse(value)
        except ValueError:
            return f"must be an ISO 8601 {kind}"
    if kind == "enum" and value not in (spec.choices or []):
        return f"must be one of {', '.join(spec.choices or [])}"
    return None


def check_extra(extra: Mapping[str, Any], specs: Sequence[tuple[str, FieldSpec]]) -> None:
    """Check `extra` against the plugins' field specs; 422 naming `extra.<name>`."""
    for plugin, spec in specs:
        value = extra.get(spec.name)
        field = f"extra.{spec.name}"
        if value is None:
            if spec.required:
                raise _invalid(field, "is required", plugin=plugin)
            continue
        problem = _type_problem(spec, value)
        if problem is not None:
            raise _invalid(field, problem, plugin=plugin)


@dataclasses.dataclass
class IntakeRun:
    """The plugins' answers for one intake, kept until the case row exists."""

    case_id: uuid.UUID
    checked: Any
    plugins: TenantPlugins | None = None
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    notes: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)

    async def settle(
        self, session: AsyncSession, case: Case, registered: CaseEvent, *, actor: str
    ) -> None:
        """Store the findings on `case` (in the intake's transaction), correlate, and
        hand its `registered` event to the `on_case_event` plugins (through a worker)."""
        if self.plugins is None:
            return
        if self.outcomes:
            await self._store(session, case, actor=actor)
        if self.plugins.implementing("on_case_event"):
            await after_case_event(session, case, registered)

    async def _store(self, session: AsyncSession, case: Case, *, actor: str) -> None:
        assert self.plugins is not None
        keys: dict[int, str] = {}
        alerts: list[tuple[Outcome, Correlation, list[tuple[uuid.UUID, str]]]] = []
        for index, outcome in enumerate(self.outcomes):
            if outcome.hook != "correlate_case" or not outcome.ok or outcome.result is None:
                continue
            correlation: Correlation = outcome.result
            await _lock(session, case.tenant_id, outcome.plugin, correlation.key)
            linked = await linked_cases(
                session,
                plugin=outcome.plugin,
                key=correlation.key,
                case=case,
                window_minutes=correlation.window_minutes,
            )
            count = len(linked) + 1
            alert = count >= correlation.threshold and not await _alerted(
                session, outcome.plugin, correlation
            )
            keys[index] = correlation.key
            self.notes.setdefault(index, {}).update(
                linked_case_ids=[str(i) for i, _ in linked],
                linked_case_numbers=[n for _, n in linked],
                count=count,
                alert=alert,
            )
            if alert:
                alerts.append((outcome, correlation, linked))
        await settle(
            session,
            self.plugins,
            self.outcomes,
            case=case,
            actor=actor,
            notes=self.notes,
            correlation_keys=keys,
        )
        for outcome, correlation, linked in alerts:
            await _raise_alert(session, case, outcome.plugin, correlation, linked, actor=actor)


def _snapshot(
    data: CaseCreate, checked: Any, case_id: uuid.UUID, product: dict[str, Any]
) -> CaseSnapshot:
    severity = checked.severity
    return CaseSnapshot(
        id=case_id,
        number=None,
        kind=data.kind,
        status="registered",
        channel=checked.channel,
        received_at=checked.received_at,
        title=checked.title,
        description=data.description,
        category_code=checked.category.code if checked.category is not None else None,
        severity_code=severity.code if severity is not None else None,
        severity_rank=severity.rank if severity is not None else 0,
        product=dict(product),
        demands=list(checked.demands),
        extra=dict(data.extra),
        problem_at=checked.problem_at,
        problem_place=data.problem_place,
        customer_ref=data.customer.external_ref if data.customer is not None else None,
    )


async def run_intake_plugins(
    session: AsyncSession,
    settings: Settings,
    data: CaseCreate,
    checked: Any,
    *,
    product: dict[str, Any],
) -> IntakeRun:
    """Ask the tenant's plugins about an intake that passed the core's checks; raises
    422 for a bad `extra` value or a `validate_intake` error. `checked` is the intake's
    checked values (`checked.severity` may come back raised in `IntakeRun.checked`)."""
    run = IntakeRun(case_id=new_id(), checked=checked)
    plugins = await TenantPlugins.load(session, settings)
    if not plugins.active:
        return run
    run.plugins = plugins
    field_outcomes = await plugins.call("extra_fields", kind=data.kind)
    check_extra(
        data.extra,
        [(o.plugin, spec) for o in field_outcomes if o.ok and o.result for spec in o.result],
    )
    snapshot = _snapshot(data, checked, run.case_id, product)
    batches = await asyncio.gather(*(plugins.call(hook, case=snapshot) for hook in INTAKE_HOOKS))
    outcomes = [*field_outcomes, *(o for batch in batches for o in batch)]
    _refuse_on_errors(outcomes)
    run.outcomes = outcomes
    run.checked = await _raise_severity(session, run, checked)
    return run


def _refuse_on_errors(outcomes: list[Outcome]) -> None:
    """422 for the first `validate_intake` error; keep only the warnings otherwise."""
    errors: list[tuple[str, FieldIssue]] = []
    for outcome in outcomes:
        if outcome.hook != "validate_intake" or not outcome.ok or not outcome.result:
            continue
        issues: list[FieldIssue] = outcome.result
        errors.extend((outcome.plugin, i) for i in issues if i.level == "error")
        outcome.result = [i for i in issues if i.level == "warning"] or None
    if errors:
        plugin, first = errors[0]
        raise _invalid(
            first.field,
            first.message,
            plugin=plugin,
            issues=[{"plugin": p, "field": i.field, "message": i.message} for p, i in errors],
        )


async def _raise_severity(session: AsyncSession, run: IntakeRun, checked: Any) -> Any:
    """`checked` with the highest assessed severity when it is above the intake's."""
    levels = {s.code: s for s in await config_now.severities(session)}
    best: tuple[int, Severity] | None = None
    for index, outcome in enumerate(run.outcomes):
        if outcome.hook != "assess_severity" or not outcome.ok or outcome.result is None:
            continue
        assessment: SeverityAssessment = outcome.result
        level = levels.get(assessment.severity)
        if level is None:
            outcome.status, outcome.result = "failed", None
            outcome.error = (
                f"invalid_result: unknown severity {assessment.severity!r}; "
                f"the tenant's are {', '.join(sorted(levels))}"
            )
            continue
        if best is None or level.rank > best[1].rank:
            best = (index, level)
    current = checked.severity
    if best is None or (current is not None and best[1].rank <= current.rank):
        return checked
    index, level = best
    run.notes.setdefault(index, {})["severity_raised"] = {
        "from": current.code if current is not None else None,
        "to": level.code,
    }
    return dataclasses.replace(checked, severity=level)


async def _lock(session: AsyncSession, tenant_id: uuid.UUID, plugin: str, key: str) -> None:
    """One intake at a time counts a correlation key (until the transaction ends)."""
    await session.execute(
        select(
            func.pg_advisory_xact_lock(
                _CORRELATION_LOCK_CLASS, func.hashtext(f"{tenant_id}:{plugin}:{key}")
            )
        )
    )


async def _alerted(session: AsyncSession, plugin: str, correlation: Correlation) -> bool:
    """Whether this plugin's key already raised an alert within the window."""
    since = utcnow() - dt.timedelta(minutes=correlation.window_minutes)
    found = await session.scalar(
        select(CaseEvent.id)
        .where(
            CaseEvent.type == "correlation_alert",
            CaseEvent.created_at >= since,
            CaseEvent.data["plugin"].astext == plugin,
            CaseEvent.data["key"].astext == correlation.key,
        )
        .limit(1)
    )
    return found is not None


async def _raise_alert(
    session: AsyncSession,
    case: Case,
    plugin: str,
    correlation: Correlation,
    linked: list[tuple[uuid.UUID, str]],
    *,
    actor: str,
) -> None:
    count = len(linked) + 1
    data = {
        "plugin": plugin,
        "key": correlation.key,
        "label": correlation.label,
        "count": count,
        "window_minutes": correlation.window_minutes,
        "threshold": correlation.threshold,
        "case_ids": [str(i) for i, _ in linked] + [str(case.id)],
        "case_numbers": [n for _, n in linked] + [case.number],
    }
    await add_event(
        session,
        case,
        type="correlation_alert",
        actor=f"plugin:{plugin}",
        from_status=None,
        to_status=None,
        data=data,
    )
    await record_on_case(session, case.id, "case.correlation_alert", actor=actor, after=data)
    recipients = await staff_with_role(session, Role.SUPERVISOR) or await staff_with_role(
        session, Role.ADMIN
    )
    await notify_staff(
        session,
        user_ids=recipients,
        event=notify_events.CORRELATION_ALERT,
        case=case,
        context={
            "plugin": plugin,
            "label": correlation.label,
            "count": str(count),
            "window_minutes": str(correlation.window_minutes),
        },
    )
