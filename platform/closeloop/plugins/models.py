"""The two plugin tables: a tenant's choices per plugin, and what plugins said about cases."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
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

from closeloop.db import Base, TenantOwned, utcnow

__all__ = ["CaseFinding", "FindingStatus", "TenantPlugin"]


class FindingStatus:
    OK = "ok"
    FAILED = "failed"


class TenantPlugin(TenantOwned, Base):
    """One installed plugin as one tenant set it up; no row means "never configured"
    (disabled, unless the plugin is built in and on by default).

    `settings` are stored as given, except the plugin's secret fields, which hold
    `{"$encrypted": "<base64>"}` under the tenant's data key. `consecutive_failures`
    counts failed calls since the last good one; at `failure_threshold` (or the
    deployment's `CLOSELOOP_PLUGIN_FAILURE_THRESHOLD`) the plugin is switched off with
    `disabled_reason` and `disabled_at` set. Enabling clears the three.
    """

    __tablename__ = "tenant_plugins"
    __table_args__ = (UniqueConstraint("tenant_id", "plugin"),)

    plugin: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    failure_threshold: Mapped[int | None] = mapped_column(Integer)
    time_budget_ms: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class CaseFinding(TenantOwned, Base):
    """One plugin's answer to one hook about one case (`status` ok), or why there was
    none (`failed`, with `error`). `correlation_key` repeats a `correlate_case` result's
    key so related cases are found by index."""

    __tablename__ = "case_findings"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"], ondelete="CASCADE"
        ),
        CheckConstraint("status IN ('ok', 'failed')", name="status"),
        Index(None, "tenant_id", "case_id", "created_at"),
        Index(
            "ix_case_findings_correlation",
            "tenant_id",
            "plugin",
            "correlation_key",
            postgresql_where=text("correlation_key IS NOT NULL"),
        ),
    )

    case_id: Mapped[uuid.UUID]
    plugin: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    hook: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))
    result: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    correlation_key: Mapped[str | None] = mapped_column(String(300))
    # What the core did with the result: severity raised, cases linked, actions run.
    notes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
