from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = ["AuditEntry"]


class AuditEntry(TenantOwned, Base):
    """One change (or one unmasked PII read), hash-chained per tenant by `seq`.

    `hash = sha256(prev_hash || canonical JSON of the entry)`. The application role
    may only INSERT and SELECT this table (the migration revokes the rest).
    """

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("tenant_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[uuid.UUID | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
