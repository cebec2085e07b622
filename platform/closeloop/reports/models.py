"""The report tables: per-case facts, the daily rollup, the tenant's order volumes.

* `case_facts`: one row per case (`id` is the case's id), what every figure of
  docs/reports.md reads: the moments that date a case into a period, the calendar and
  business seconds with waiting time taken out, the breaches, the satisfaction answer,
  the follow-up, the dimensions. Recomputed from the case's sources by the worker
  (`closeloop.reports.facts`).
* `report_daily`: additive counts per tenant-local day × measure × dimensions, moved by
  the difference between a case's old and new facts; `closeloop reports rebuild`
  recomputes it. A tenant table under RLS (a materialized view could not carry it).
* `order_volumes`: the orders a tenant took over some days, the denominator of the
  complaint rate.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, utcnow

__all__ = ["DATED_BY", "CaseFacts", "OrderVolume", "ReportDaily"]

# The fact columns that place a case in a period, each with its index.
DATED_BY = (
    "received_at",
    "first_response_at",
    "first_resolved_at",
    "closed_at",
    "satisfaction_at",
    "followup_due_by",
    "followup_done_at",
    "made_major_at",
)


class CaseFacts(TenantOwned, Base):
    """What the reports need to know of one case (docs/reports.md, "The per-case facts")."""

    __tablename__ = "case_facts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "id"], ["cases.tenant_id", "cases.id"], ondelete="CASCADE"
        ),
        *(Index(f"ix_case_facts_{column}", "tenant_id", column) for column in DATED_BY),
        # The few merged cases, whose SLA clocks the on-time rate leaves out.
        Index("ix_case_facts_merged", "tenant_id", "id", postgresql_where=text("merged")),
    )

    status: Mapped[str] = mapped_column(String(32))
    merged: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))
    category_id: Mapped[uuid.UUID | None]
    category_code: Mapped[str | None] = mapped_column(String(64))
    severity_code: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[uuid.UUID | None]
    handler_id: Mapped[uuid.UUID | None]
    resolved_by: Mapped[uuid.UUID | None]
    product: Mapped[str | None] = mapped_column(String(200))
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime]
    first_response_at: Mapped[dt.datetime | None]
    first_response_seconds: Mapped[int | None] = mapped_column(BigInteger)
    first_response_business_seconds: Mapped[int | None] = mapped_column(BigInteger)
    first_resolved_at: Mapped[dt.datetime | None]
    resolution_seconds: Mapped[int | None] = mapped_column(BigInteger)
    resolution_business_seconds: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[dt.datetime | None]
    close_seconds: Mapped[int | None] = mapped_column(BigInteger)
    close_business_seconds: Mapped[int | None] = mapped_column(BigInteger)
    waiting_seconds: Mapped[int] = mapped_column(BigInteger, default=0)
    customer_contacts: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    first_reopened_at: Mapped[dt.datetime | None]
    reopened_in_window: Mapped[bool] = mapped_column(Boolean, default=False)
    breached_targets: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    made_major_at: Mapped[dt.datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(String(32))
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    satisfaction_at: Mapped[dt.datetime | None]
    followup_due_by: Mapped[dt.datetime | None]
    followup_done_at: Mapped[dt.datetime | None]
    followup_outcome: Mapped[str | None] = mapped_column(String(32))
    responsible_party: Mapped[str | None] = mapped_column(String(16))
    solution_type: Mapped[str | None] = mapped_column(String(64))
    third_party: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReportDaily(TenantOwned, Base):
    """`n` cases of one measure on one tenant-local day, for one combination of the
    dimensions (`''` where a case has none)."""

    __tablename__ = "report_daily"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "day",
            "measure",
            "kind",
            "channel",
            "category",
            "severity",
            "department",
            name="uq_report_daily_bucket",
        ),
    )

    day: Mapped[dt.date] = mapped_column(Date)
    measure: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(36))
    n: Mapped[int] = mapped_column(BigInteger)


class OrderVolume(TenantOwned, Base):
    """The orders a tenant took from `date_from` to `date_to` (tenant-local, inclusive)."""

    __tablename__ = "order_volumes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "date_from", "date_to"),
        CheckConstraint("date_from <= date_to", name="range"),
        CheckConstraint("orders >= 0", name="orders"),
    )

    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    orders: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
