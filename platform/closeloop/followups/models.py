"""The `followup_tasks` table: the follow-up call (回访) due on a resolved case.

One task per resolution that is followed up (`resolved_at` says which); at most one
task of a case is open at a time (a partial unique index holds it).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, utcnow

__all__ = ["FollowupStatus", "FollowupTask"]


class FollowupStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowupTask(TenantOwned, Base):
    """A follow-up due between `due_from` and `due_by` (working days after resolution,
    by the tenant's calendar), assigned to a user with the follow-up role who never
    handled the case (`assignee_id`; None: no such user, supervisors see it).

    `status`: `open`, `done` (the `followup` action was taken: `outcome`, `done_at`,
    `done_by`), or `cancelled` (the case was reopened or ended otherwise).
    """

    __tablename__ = "followup_tasks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tenant_id", "assignee_id"], ["users.tenant_id", "users.id"]),
        CheckConstraint("status IN ('open', 'done', 'cancelled')", name="status"),
        Index(None, "tenant_id", "case_id"),
        Index(None, "tenant_id", "status", "due_by"),
        Index(None, "tenant_id", "assignee_id", "status", "due_by"),
        Index(
            "uq_followup_tasks_open_case",
            "tenant_id",
            "case_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
    )

    case_id: Mapped[uuid.UUID]
    assignee_id: Mapped[uuid.UUID | None]
    resolved_at: Mapped[dt.datetime]
    due_from: Mapped[dt.datetime]
    due_by: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default=FollowupStatus.OPEN.value)
    outcome: Mapped[str | None] = mapped_column(String(32))
    done_at: Mapped[dt.datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )
