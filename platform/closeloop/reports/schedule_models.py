"""`report_schedules`: a tenant's weekly and monthly report e-mails (a tenant table under
forced row-level security). `last_period_from` is the first day of the last period sent:
the sender moves it in the transaction that makes the e-mails, so a period is sent once.
`next_run_at` is when the sweep must next look at the schedule (the send time of its
next period on the tenant's calendar; None while paused), set when the schedule is saved
or sent; the sweep finds the due ones through the partial index on it."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ARRAY, Boolean, CheckConstraint, Date, Index, String, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, utcnow

__all__ = ["ReportSchedule"]


class ReportSchedule(TenantOwned, Base):
    """One report e-mail: how often (`weekly`: Monday 09:00 for last week; `monthly`:
    the 1st 09:00 for last month, in the tenant's time zone), in which language, to which
    staff members (user ids)."""

    __tablename__ = "report_schedules"
    __table_args__ = (
        CheckConstraint("frequency IN ('weekly', 'monthly')", name="frequency"),
        CheckConstraint("locale IN ('zh-CN', 'en')", name="locale"),
        Index("ix_report_schedules_next_run_at", "next_run_at", postgresql_where=text("active")),
    )

    name: Mapped[str] = mapped_column(String(200), default="")
    frequency: Mapped[str] = mapped_column(String(16))
    locale: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_period_from: Mapped[dt.date | None] = mapped_column(Date)
    last_sent_at: Mapped[dt.datetime | None]
    next_run_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )
