"""Storing what plugins said about a case, and switching off plugins that keep failing.

`settle()` runs in the caller's transaction (bound to the tenant), after the calls:

* every failed outcome, and every ok outcome with something to say, becomes a
  `case_findings` row, a `plugin_finding` event on the case's timeline and an audit
  entry `case.plugin_finding` (plugin, version, hook, status; not the result, which
  may quote the case's text);
* per plugin, one batch of calls (an intake, a lifecycle event) with any failure
  counts one consecutive failure; a batch without failures resets the count. At the
  threshold the plugin is switched off for the tenant, with an audit entry
  `plugin.auto_disable` and an in-app notification (`plugin_disabled`) to the
  tenant's active admins.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import any_, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.audit.service import jsonable, record, record_on_case
from closeloop.cases.models import Case
from closeloop.cases.timeline import add_event
from closeloop.db import new_id, utcnow
from closeloop.identity.models import Role, User
from closeloop.logs import get_logger
from closeloop.notify import events as notify_events
from closeloop.notify.service import notify_staff
from closeloop.plugins.models import CaseFinding, FindingStatus, TenantPlugin
from closeloop.plugins.tenant import ActivePlugin, Outcome, TenantPlugins, tenant_id_of

__all__ = [
    "NOT_STORED_OK",
    "count_failures",
    "findings_of",
    "linked_cases",
    "settle",
    "staff_with_role",
]

log = get_logger(__name__)

# Hooks whose successful answers are used by the core and not stored as findings.
NOT_STORED_OK = frozenset({"extra_fields"})


def _stored(outcome: Outcome) -> bool:
    if not outcome.ok:
        return True
    return outcome.hook not in NOT_STORED_OK and outcome.result is not None


async def settle(
    session: AsyncSession,
    plugins: TenantPlugins,
    outcomes: Sequence[Outcome],
    *,
    case: Case,
    actor: str,
    notes: Mapping[int, dict[str, Any]] | None = None,
    correlation_keys: Mapping[int, str] | None = None,
) -> list[tuple[Outcome, CaseFinding]]:
    """Store `outcomes` of one batch on `case` and count failures per plugin.
    `notes[i]` says what the core did with outcome i (severity raised, cases linked)."""
    stored: list[tuple[Outcome, CaseFinding]] = []
    for index, outcome in enumerate(outcomes):
        if not _stored(outcome):
            continue
        note = dict((notes or {}).get(index) or {})
        finding = CaseFinding(
            tenant_id=case.tenant_id,
            id=new_id(),
            case_id=case.id,
            plugin=outcome.plugin,
            version=outcome.version,
            hook=outcome.hook,
            status=outcome.status,
            result=jsonable(outcome.result_json()),
            error=outcome.error,
            duration_ms=outcome.duration_ms,
            correlation_key=(correlation_keys or {}).get(index),
            notes=jsonable(note),
        )
        session.add(finding)
        await session.flush()
        # The timeline shows what the plugin answered; the audit trail keeps the rest.
        said = {
            "finding_id": finding.id,
            "plugin": outcome.plugin,
            "version": outcome.version,
            "hook": outcome.hook,
            "status": outcome.status,
            "error": outcome.error,
        }
        await add_event(
            session,
            case,
            type="plugin_finding",
            actor=f"plugin:{outcome.plugin}",
            from_status=None,
            to_status=None,
            data={**said, "result": finding.result, "core": note or None},
        )
        after = {**said, **({"core": note} if note else {})}
        await record_on_case(session, case.id, "case.plugin_finding", actor=actor, after=after)
        stored.append((outcome, finding))
    await count_failures(session, plugins, outcomes, case=case)
    return stored


async def count_failures(
    session: AsyncSession, plugins: TenantPlugins, outcomes: Sequence[Outcome], *, case: Case | None
) -> None:
    """One batch per plugin: any failure counts one, none resets the count."""
    by_plugin: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_plugin.setdefault(outcome.plugin, []).append(outcome)
    for name, batch in by_plugin.items():
        active = plugins.get(name)
        if active is None:
            continue
        failed = [o for o in batch if not o.ok]
        if failed:
            await _count_failure(session, active, failed[-1], case=case)
        elif active.row is not None and active.row.consecutive_failures:
            await session.execute(
                update(TenantPlugin)
                .where(TenantPlugin.plugin == name)
                .values(consecutive_failures=0, updated_at=utcnow())
            )


async def _count_failure(
    session: AsyncSession, active: ActivePlugin, failure: Outcome, *, case: Case | None
) -> None:
    tenant_id = tenant_id_of(session)
    error = (failure.error or "failed")[:2000]
    now = utcnow()
    counted = await session.execute(
        insert(TenantPlugin)
        .values(
            tenant_id=tenant_id,
            id=new_id(),
            plugin=active.name,
            enabled=active.installed.enabled_by_default,
            settings={},
            consecutive_failures=1,
            last_error=error,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["tenant_id", "plugin"],
            set_={
                "consecutive_failures": TenantPlugin.consecutive_failures + 1,
                "last_error": error,
                "updated_at": now,
            },
        )
        .returning(TenantPlugin.id, TenantPlugin.consecutive_failures)
    )
    row_id, failures = counted.one()
    if failures < active.failure_threshold:
        return
    reason = f"{failures} consecutive failed calls; last: {failure.hook}: {error}"[:2000]
    switched = await session.execute(
        update(TenantPlugin)
        .where(TenantPlugin.plugin == active.name, TenantPlugin.enabled.is_(True))
        .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        .returning(TenantPlugin.id)
    )
    if switched.first() is None:
        return  # switched off already (by another request, or never on)
    log.warning("plugin switched off after failures", plugin=active.name, failures=failures)
    await record(
        session,
        actor="system",
        action="plugin.auto_disable",
        entity_type="plugin",
        entity_id=row_id,
        after={"plugin": active.name, "consecutive_failures": failures, "reason": reason},
    )
    await notify_staff(
        session,
        user_ids=await staff_with_role(session, Role.ADMIN),
        event=notify_events.PLUGIN_DISABLED,
        case=case,
        context={"plugin": active.name, "failures": str(failures), "error": error[:500]},
    )


async def staff_with_role(session: AsyncSession, *roles: Role) -> list[uuid.UUID]:
    """The tenant's active users holding any of `roles`, oldest first."""
    query = (
        select(User.id)
        .where(User.active.is_(True), or_(*(literal(r.value) == any_(User.roles) for r in roles)))
        .order_by(User.created_at, User.id)
    )
    return list((await session.scalars(query)).all())


async def findings_of(session: AsyncSession, case_id: uuid.UUID) -> Sequence[CaseFinding]:
    query = (
        select(CaseFinding)
        .where(CaseFinding.case_id == case_id)
        .order_by(CaseFinding.created_at, CaseFinding.id)
    )
    return (await session.scalars(query)).all()


async def linked_cases(
    session: AsyncSession, *, plugin: str, key: str, case: Case, window_minutes: int
) -> list[tuple[uuid.UUID, str]]:
    """`(id, number)` of the tenant's cases this plugin gave `key`, received within the
    window before `case` (and not after it), `case` not included, oldest first."""
    since = case.received_at - dt.timedelta(minutes=window_minutes)
    query = (
        select(Case.id, Case.number, Case.received_at)
        .join(
            CaseFinding,
            (CaseFinding.tenant_id == Case.tenant_id) & (CaseFinding.case_id == Case.id),
        )
        .where(
            CaseFinding.plugin == plugin,
            CaseFinding.correlation_key == key,
            CaseFinding.status == FindingStatus.OK,
            Case.id != case.id,
            Case.received_at >= since,
            Case.received_at <= case.received_at,
        )
        .distinct()
        .order_by(Case.received_at, Case.id)
    )
    return [(row.id, row.number) for row in (await session.execute(query)).all()]
