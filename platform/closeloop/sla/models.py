"""The SLA tables: policies and their escalation ladders, the clocks on cases and their events.

* `sla_policies`: a tenant's ordered policies. The first active policy whose match
  fields (case kind, severity code, category code, channel; null = any) all fit a case
  is the case's policy; the default policy (exactly one per tenant, matching anything)
  comes after all others. `targets` holds each promise: `{target: {unit, hours | days,
  earliest_days?}}`.
* `sla_escalation_levels`: a policy's ladder. A level watches one target and fires when
  its trigger is reached (`percent` of the target elapsed, `breach`, `after_breach` N
  hours, `age` N hours since the clock started), doing its `actions` once per clock run.
* `sla_clocks`: one promise on one case in one cycle (a reopen starts cycle n + 1; the
  old cycle's clocks stay as they ended). A clock copies its target at start (`spec`),
  so a later policy change leaves it alone. `next_check_at` is when the sweep must look
  at it next (the next threshold); null when nothing can happen (paused, stopped, or no
  level left). The sweep finds due clocks through the index on `next_check_at`.
* `sla_clock_events`: every start, pause (with its reason), resume, restart, stop,
  breach, escalation and recompute, so a case's SLA history can be replayed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, one_default_per_tenant, tenant_fk, utcnow

__all__ = ["SlaClock", "SlaClockEvent", "SlaEscalationLevel", "SlaPolicy"]


class SlaPolicy(TenantOwned, Base):
    """Which promises a tenant makes for which cases, counted with which calendar
    (`calendar_id` null: the tenant's default calendar)."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        tenant_fk(["calendar_id"], "calendars"),
        one_default_per_tenant("sla_policies"),
    )

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    match_kind: Mapped[str | None] = mapped_column(String(32))
    match_severity: Mapped[str | None] = mapped_column(String(64))
    match_category: Mapped[str | None] = mapped_column(String(64))
    match_channel: Mapped[str | None] = mapped_column(String(64))
    calendar_id: Mapped[uuid.UUID | None]
    targets: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class SlaEscalationLevel(TenantOwned, Base):
    """One rung of a policy's ladder.

    `actions`: `notify_handler`, `notify_supervisors`, `notify_manager` (the lead
    department's manager), `notify_role` (every active user with `role`), `reassign`
    (to the lead department's manager), `raise_severity` (to `severity_code`, or one
    rank up), `flag` (the case's escalation level + 1).
    """

    __tablename__ = "sla_escalation_levels"
    __table_args__ = (
        tenant_fk(["policy_id"], "sla_policies", ondelete="CASCADE"),
        UniqueConstraint(
            "tenant_id",
            "policy_id",
            "target",
            "trigger",
            "threshold",
            name="uq_sla_escalation_levels_trigger",
        ),
        CheckConstraint("trigger IN ('percent', 'breach', 'after_breach', 'age')", name="trigger"),
    )

    policy_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer, default=0)
    target: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))
    # percent (1-99) for `percent`, hours for `after_breach` and `age`, 0 for `breach`.
    threshold: Mapped[int] = mapped_column(Integer, default=0)
    actions: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    role: Mapped[str | None] = mapped_column(String(32))
    severity_code: Mapped[str | None] = mapped_column(String(64))


class SlaClock(TenantOwned, Base):
    """One promise on one case, in one cycle.

    Times are counted in the clock's measure: business time of its calendar for
    `business` and `working_days` targets, elapsed time for `calendar` ones.
    `span_seconds` is the target's length in that measure; `paused_seconds` the time
    spent paused (waiting on the customer), by which the due time has moved.
    `fired` holds the keys of the ladder levels already acted on in this run of the
    clock (a restart of a repeating clock begins a new `period` with none fired).
    """

    __tablename__ = "sla_clocks"
    __table_args__ = (
        tenant_fk(["case_id"], "cases", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "case_id", "cycle", "target"),
        CheckConstraint("state IN ('running', 'paused', 'stopped', 'breached')", name="state"),
        # The sweep's claim: due clocks by next check, across tenants.
        Index(
            "ix_sla_clocks_next_check_at",
            "next_check_at",
            postgresql_where=text("next_check_at IS NOT NULL"),
        ),
    )

    case_id: Mapped[uuid.UUID]
    cycle: Mapped[int] = mapped_column(Integer, default=1)
    target: Mapped[str] = mapped_column(String(32))
    policy_id: Mapped[uuid.UUID | None]
    calendar_id: Mapped[uuid.UUID | None]
    unit: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(16))
    period: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[dt.datetime]
    opens_at: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime]
    span_seconds: Mapped[int] = mapped_column(BigInteger)
    paused_at: Mapped[dt.datetime | None]
    paused_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    stopped_at: Mapped[dt.datetime | None]
    breached_at: Mapped[dt.datetime | None]
    next_check_at: Mapped[dt.datetime | None]
    fired: Mapped[list[str]] = mapped_column(ARRAY(String(160)), default=list)


class SlaClockEvent(TenantOwned, Base):
    """One step of a case's SLA history. `at` is when it happened (the `now` it was
    computed with); `data` holds the figures (due times before and after, the level,
    who was notified)."""

    __tablename__ = "sla_clock_events"
    __table_args__ = (
        tenant_fk(["case_id"], "cases", ondelete="CASCADE"),
        tenant_fk(["clock_id"], "sla_clocks", ondelete="CASCADE"),
        Index(None, "tenant_id", "case_id", "at"),
    )

    case_id: Mapped[uuid.UUID]
    clock_id: Mapped[uuid.UUID | None]
    cycle: Mapped[int] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
