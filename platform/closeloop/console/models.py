"""A signed-in staff member's console session, kept on the server so it can be ended."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKeyConstraint, Index, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = ["ConsoleSession"]


class ConsoleSession(TenantOwned, Base):
    """One sign-in. The browser holds the secret in a cookie; the row keeps its SHA-256.

    Over when `expires_at` passes (absolute lifetime), when `last_seen_at` is older than
    the idle timeout, or when the row is deleted (sign-out, revocation).
    """

    __tablename__ = "console_sessions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "token_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE"
        ),
        Index(None, "tenant_id", "user_id"),
    )

    user_id: Mapped[uuid.UUID]
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
