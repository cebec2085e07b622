from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    ARRAY,
    Boolean,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, utcnow

__all__ = ["ROLES", "ApiKey", "LoginAttempt", "Permission", "Role", "User"]


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    HANDLER = "handler"
    FOLLOWUP = "followup"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    PII = "pii"


ROLES = tuple(role.value for role in Role)


class User(TenantOwned, Base):
    """A member of a tenant's staff. E-mail is unique per tenant and stored lowercased."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        ForeignKeyConstraint(
            ["tenant_id", "department_id"],
            ["departments.tenant_id", "departments.id"],
            use_alter=True,
        ),
    )

    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    department_id: Mapped[uuid.UUID | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, server_default=func.now(), onupdate=utcnow
    )


class ApiKey(TenantOwned, Base):
    """A tenant API key. Only a keyed hash of the secret is kept; the key is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "secret_hash"),
        ForeignKeyConstraint(
            ["tenant_id", "created_by"], ["users.tenant_id", "users.id"], ondelete="RESTRICT"
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(16)))
    created_by: Mapped[uuid.UUID | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class LoginAttempt(TenantOwned, Base):
    """A failed login, kept to throttle guessing per account across app processes."""

    __tablename__ = "login_failures"
    __table_args__ = (Index(None, "tenant_id", "email", "created_at"),)

    email: Mapped[str] = mapped_column(String(254))
