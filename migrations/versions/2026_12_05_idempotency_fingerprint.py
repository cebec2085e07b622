"""`cases.idempotency_fingerprint`: what an `Idempotency-Key` was first used for.

A SHA-256 of the caller and the canonical intake body. A key reused with another body,
or by another user or API key of the tenant, is refused (422 `idempotency_key_reused`)
instead of answering the first case. Cases made before this column have none and keep
replaying as before.

Revision ID: 0013_idempotency_fingerprint
Revises: 0011_audit_append
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_idempotency_fingerprint"
down_revision = "0011_audit_append"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("idempotency_fingerprint", sa.LargeBinary(length=32), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("cases", "idempotency_fingerprint")
