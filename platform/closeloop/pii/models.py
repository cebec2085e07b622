from __future__ import annotations

from sqlalchemy import Integer, LargeBinary, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = ["TenantKey"]


class TenantKey(TenantOwned, Base):
    """A tenant's data key, wrapped (AES-GCM) by the deployment's master key."""

    __tablename__ = "tenant_keys"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    version: Mapped[int] = mapped_column(Integer, default=1)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
