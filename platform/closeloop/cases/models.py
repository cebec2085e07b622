"""Cases and what hangs off them: customers, the timeline, attachments, number counters."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from closeloop.db import Base, TenantOwned, tenant_fk, utcnow

__all__ = ["Attachment", "Case", "CaseEvent", "Customer", "NumberCounter"]


class Customer(TenantOwned, Base):
    """A customer as a record, so repeat complaints can be found.

    PII (name, phone, e-mail, ID number) is stored only encrypted (`*_enc`); phone and
    e-mail are also kept as keyed hashes for exact-match search. Erasure clears all of
    them and stamps `erased_at`; the cases stay for statistics.
    """

    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_ref"),
        Index(None, "tenant_id", "phone_hash"),
        Index(None, "tenant_id", "email_hash"),
    )

    external_ref: Mapped[str | None] = mapped_column(String(128))
    nickname: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    email_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    erased_at: Mapped[dt.datetime | None]


class Case(TenantOwned, Base):
    """A complaint, service request, inquiry or suggestion, from intake to archive.

    Category and severity are referenced and their codes copied (`category_code`,
    `severity_code`, `severity_rank`), so later configuration changes do not rewrite
    the record. `version` increases with every change (`If-Match`).
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "idempotency_key"),
        UniqueConstraint("tenant_id", "external_id"),
        tenant_fk(["customer_id"], "customers"),
        tenant_fk(["category_id"], "categories"),
        tenant_fk(["severity_id"], "severities"),
        tenant_fk(["lead_department_id"], "departments"),
        tenant_fk(["handler_id"], "users"),
        tenant_fk(["registrar_id"], "users"),
        tenant_fk(["merged_into_id"], "cases"),
        tenant_fk(["import_run_id"], "import_runs"),
        Index(None, "tenant_id", "status", "due_at"),
        Index(None, "tenant_id", "received_at", "id"),
        Index(None, "tenant_id", "customer_id", "category_id", "received_at", "id"),
        Index(None, "search", postgresql_using="gin"),
    )

    number: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[uuid.UUID | None]
    category_id: Mapped[uuid.UUID | None]
    category_code: Mapped[str | None] = mapped_column(String(64))
    severity_id: Mapped[uuid.UUID | None]
    severity_code: Mapped[str | None] = mapped_column(String(64))
    severity_rank: Mapped[int] = mapped_column(Integer, default=0)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    # Product or service: name, model, batch, order number, purchase date, warranty card.
    product: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    problem_at: Mapped[dt.datetime | None]
    problem_place: Mapped[str | None] = mapped_column(String(500))
    demands: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    registrar_id: Mapped[uuid.UUID | None]
    registrar_api_key_id: Mapped[uuid.UUID | None]
    lead_department_id: Mapped[uuid.UUID | None]
    collaborating_department_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    handler_id: Mapped[uuid.UUID | None]
    handler_history: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    deadline: Mapped[dt.datetime | None]
    due_at: Mapped[dt.datetime | None]
    resume_status: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    first_satisfaction: Mapped[str | None] = mapped_column(String(32))
    followup_outcome: Mapped[str | None] = mapped_column(String(32))
    followup_after: Mapped[dt.datetime | None]
    repeat_of: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid), default=list)
    is_repeat: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the caller and the canonical body the key was first used with.
    idempotency_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    public_token_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    search: Mapped[Any] = mapped_column(TSVECTOR)
    version: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    archived_at: Mapped[dt.datetime | None]
    # The case this one duplicates (`merge`): reports count the two as one case.
    merged_into_id: Mapped[uuid.UUID | None]
    # Imported cases: the source system's id (re-imports match on it), the run that
    # created the case and a digest of the imported record (a changed row updates it).
    external_id: Mapped[str | None] = mapped_column(String(200))
    import_run_id: Mapped[uuid.UUID | None]
    import_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseEvent(TenantOwned, Base):
    """One step of a case's timeline; `visibility` is `internal` or `customer`."""

    __tablename__ = "case_events"
    __table_args__ = (
        tenant_fk(["case_id"], "cases", ondelete="CASCADE"),
        Index(None, "tenant_id", "case_id", "created_at"),
    )

    case_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    visibility: Mapped[str] = mapped_column(String(16), default="internal")
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class Attachment(TenantOwned, Base):
    """An evidence file; the bytes live in the storage backend under `storage_key`."""

    __tablename__ = "attachments"
    __table_args__ = (tenant_fk(["case_id"], "cases", ondelete="CASCADE"),)

    case_id: Mapped[uuid.UUID]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[bytes] = mapped_column(LargeBinary(32))
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by: Mapped[str] = mapped_column(String(80))


class NumberCounter(TenantOwned, Base):
    """The last number given per tenant and scope (pattern key + period), e.g. `CT:2026`.

    Incremented in the creating transaction (`INSERT ... ON CONFLICT DO UPDATE ...
    RETURNING`), so a rolled-back intake gives its number back: numbers stay gapless.
    """

    __tablename__ = "number_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "scope"),)

    scope: Mapped[str] = mapped_column(String(100))
    value: Mapped[int] = mapped_column(BigInteger, default=0)
