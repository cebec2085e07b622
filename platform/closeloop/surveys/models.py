"""The `surveys` table: one satisfaction survey per resolution of a case.

The token of a survey's link is never stored: only its SHA-256 (`token_hash`). The
token starts with the tenant's id (like `clk_` API keys), so the public page can bind
the tenant before it looks the hash up under row-level security.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = ["Survey"]


class Survey(TenantOwned, Base):
    """A satisfaction survey sent to a case's customer when the case was resolved.

    * `cycle`: 1 for the case's first resolution, 2 after it was reopened and resolved
      again, and so on;
    * `locale`: the customer's language when it was sent (`zh-CN` or `en`);
    * `expires_at`: after it, or once the case was reopened, the link answers 410;
    * `answered_at`, `answer` (a code of the tenant's satisfaction scale), `reason`:
      set once, by the customer's answer; a second answer is refused.
    """

    __tablename__ = "surveys"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"], ondelete="CASCADE"
        ),
        UniqueConstraint("tenant_id", "token_hash"),
        Index(None, "tenant_id", "case_id", "cycle"),
    )

    case_id: Mapped[uuid.UUID]
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    locale: Mapped[str] = mapped_column(String(16))
    cycle: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    answer: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
