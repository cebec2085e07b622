"""Tenant configuration: how one company classifies, ranks, routes and closes its cases.

Cases copy what they need (codes, names, the number) when they are written, so
changing configuration never rewrites an existing case.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKeyConstraint, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = [
    "CASE_KINDS",
    "Category",
    "Channel",
    "DemandType",
    "Department",
    "Severity",
    "TenantProfile",
]

CASE_KINDS = ("complaint", "service_request", "inquiry", "suggestion")


class _Named:
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Department(_Named, TenantOwned, Base):
    """A department in the tenant's tree; `manager_id` is the user escalations reach."""

    __tablename__ = "departments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(
            ["tenant_id", "parent_id"], ["departments.tenant_id", "departments.id"]
        ),
        ForeignKeyConstraint(["tenant_id", "manager_id"], ["users.tenant_id", "users.id"]),
    )

    parent_id: Mapped[uuid.UUID | None]
    manager_id: Mapped[uuid.UUID | None]


class Category(_Named, TenantOwned, Base):
    """A node of the category tree (product quality, logistics delay, ...)."""

    __tablename__ = "categories"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["categories.tenant_id", "categories.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "default_department_id"], ["departments.tenant_id", "departments.id"]
        ),
    )

    parent_id: Mapped[uuid.UUID | None]
    case_kind: Mapped[str | None] = mapped_column(String(32))
    default_department_id: Mapped[uuid.UUID | None]


class Severity(_Named, TenantOwned, Base):
    """An ordered severity level; a higher `rank` is more severe (普通 < 紧急 < 特急)."""

    __tablename__ = "severities"
    __table_args__ = (UniqueConstraint("tenant_id", "code"), UniqueConstraint("tenant_id", "rank"))

    rank: Mapped[int] = mapped_column(Integer)


class Channel(_Named, TenantOwned, Base):
    """Where cases arrive: phone, web, app, e-mail, chat, social, store, letter, api..."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)


class DemandType(_Named, TenantOwned, Base):
    """What the customer asks for: refund, exchange, repair, apology, compensation..."""

    __tablename__ = "demand_types"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)


class TenantProfile(TenantOwned, Base):
    """The tenant's single-valued settings; exactly one row per tenant (`id` = tenant id).

    * `number_patterns`: case kind (or `default`) → pattern, e.g. `CT-{yyyy}-{seq:05}`;
    * `satisfaction_scale`: `[{code, name_zh, name_en, satisfied}]`, best first;
    * `followup_script`: `[{step, text_zh, text_en}]`;
    * `followup_window_days`: `[earliest, latest]` working days after resolution;
    * `repeat_window_days`: same customer and category within this many days is a repeat;
    * `pii_mode`: `normal`, or `none` (customer id and nickname only).
    """

    __tablename__ = "tenant_profiles"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    number_patterns: Mapped[dict[str, str]] = mapped_column(JSONB)
    satisfaction_scale: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    followup_script: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    followup_window_days: Mapped[list[int]] = mapped_column(JSONB)
    repeat_window_days: Mapped[int] = mapped_column(Integer, default=30)
    pii_mode: Mapped[str] = mapped_column(String(16), default="normal")
