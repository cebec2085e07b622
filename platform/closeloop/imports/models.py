"""Import runs and their row errors: what one file brought in, and what it could not."""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from closeloop.db import Base, TenantOwned

__all__ = ["RUN_STATUSES", "ImportMapping", "ImportRowError", "ImportRun", "ImportUpload"]

RUN_STATUSES = ("queued", "running", "done", "failed", "undone")


class ImportRun(TenantOwned, Base):
    """One file imported (or checked, `dry_run`) with one mapping.

    Every case the run created carries its id (`cases.import_run_id`), so the run can be
    listed and undone as a whole. `source` keeps the file's bytes between the request
    and the background run; it is cleared when the run ends.
    """

    __tablename__ = "import_runs"
    __table_args__ = (
        Index(None, "tenant_id", "created_at"),
        CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed', 'undone')", name="status"
        ),
    )

    file_name: Mapped[str] = mapped_column(String(255))
    mapping: Mapped[str] = mapped_column(String(100))
    # The mapping's TOML when it was given as text rather than by a shipped name.
    mapping_text: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    format: Mapped[str | None] = mapped_column(String(8))
    encoding: Mapped[str | None] = mapped_column(String(32))
    encoding_source: Mapped[str | None] = mapped_column(String(16))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    # Why the run failed as a whole (an unreadable file, a mapping that does not fit).
    failure: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    source: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))


class ImportRowError(TenantOwned, Base):
    """One problem of one row of a run's file: row number, column, value, reason."""

    __tablename__ = "import_row_errors"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "run_id"],
            ["import_runs.tenant_id", "import_runs.id"],
            ondelete="CASCADE",
        ),
        Index(None, "tenant_id", "run_id", "row"),
    )

    run_id: Mapped[uuid.UUID]
    row: Mapped[int] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class ImportUpload(TenantOwned, Base):
    """A file uploaded in the console, kept before anything is run from it: the preview
    and the mapping form read it, and each run made from it copies its bytes. `rows`
    is the number of data rows found when it was stored (the progress bar's total);
    `rows_exact` is False when they are a large sheet's stated range, an upper bound.

    It is kept until `expires_at` (`CLOSELOOP_IMPORT_UPLOAD_DAYS` after its upload, or
    after the last run started from it): then it is gone for the page and the upload
    sweep (`closeloop.imports.cleanup`) deletes it."""

    __tablename__ = "import_uploads"
    __table_args__ = (Index(None, "tenant_id", "created_at"), Index(None, "expires_at"))

    file_name: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    rows_exact: Mapped[bool] = mapped_column(Boolean, default=True)
    actor: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[dt.datetime]
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))


class ImportMapping(TenantOwned, Base):
    """A mapping saved by the tenant's admins from the console, by name (TOML text)."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[dt.datetime]
