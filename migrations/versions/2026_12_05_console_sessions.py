"""Console sessions: the staff console's server-side sign-ins, one tenant table under
forced RLS.

The browser's cookie carries the tenant id and a random secret; the row keeps only the
secret's SHA-256, the user, when it was last used and when it ends for good.

Revision ID: 0014_console_sessions
Revises: 0013_idempotency_fingerprint
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from closeloop.migrate import enable_tenant_rls

revision = "0014_console_sessions"
down_revision = "0013_idempotency_fingerprint"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_console_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_console_sessions_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint(
            "tenant_id", "token_hash", name=op.f("uq_console_sessions_tenant_id_token_hash")
        ),
    )
    op.create_index(
        op.f("ix_console_sessions_tenant_id_user_id"), "console_sessions", ["tenant_id", "user_id"]
    )
    enable_tenant_rls("console_sessions")


def downgrade() -> None:
    op.drop_table("console_sessions")
