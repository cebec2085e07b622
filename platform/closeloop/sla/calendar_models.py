"""The `calendars` table: a tenant's business calendars, exactly one of them the default.

A calendar row holds what `BusinessCalendar.build()` takes; the service turns one into
the other and caches the result per (tenant, calendar, `updated_at`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, one_default_per_tenant, utcnow

__all__ = ["Calendar"]


class Calendar(TenantOwned, Base):
    """Working hours, time zone and holidays of one tenant calendar.

    * `week_hours`: `{"mon": ["09:00-12:00", "13:30-18:00"], ..., "sun": []}`;
    * `country` / `subdivision`: public holidays from the `holidays` package (ISO
      codes; no country, no public holidays);
    * `workday_hours`: the hours of a substituted or extra working day whose weekday
      has none (a Saturday); null means the first weekday with hours (Monday's);
    * `extra_holidays` / `extra_working_days`: the tenant's own dates;
    * `is_default`: the calendar a case uses unless its policy names another; a
      partial unique index allows one per tenant, the service keeps one.
    """

    __tablename__ = "calendars"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        one_default_per_tenant("calendars"),
    )

    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(8))
    subdivision: Mapped[str | None] = mapped_column(String(16))
    week_hours: Mapped[dict[str, list[str]]] = mapped_column(JSONB)
    workday_hours: Mapped[list[str] | None] = mapped_column(JSONB)
    extra_holidays: Mapped[list[dt.date]] = mapped_column(
        ARRAY(Date), default=list, server_default="{}"
    )
    extra_working_days: Mapped[list[dt.date]] = mapped_column(
        ARRAY(Date), default=list, server_default="{}"
    )
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )
