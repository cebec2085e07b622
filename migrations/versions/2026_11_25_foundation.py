"""Foundation: tenants, users, API keys, login failures; grants for the application role.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from closeloop.migrate import app_role, enable_tenant_rls

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None

UUID = sa.Uuid(as_uuid=True)
NOW = sa.text("now()")


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "tenant_id",
            UUID,
            sa.ForeignKey("tenants.id", ondelete="CASCADE", name=None),
            nullable=False,
        ),
        sa.Column("id", UUID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    ]


def upgrade() -> None:
    role = app_role()
    op.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
    op.execute(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{role}"'
    )
    op.execute(
        f'ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO "{role}"'
    )

    op.create_table(
        "tenants",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("settings", pg.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended')", name="ck_tenants_status"),
        sa.CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'", name="ck_tenants_slug_format"),
        sa.UniqueConstraint("slug", name="uq_tenants_slug"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )

    op.create_table(
        "users",
        *_tenant_columns(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("roles", pg.ARRAY(sa.String(16)), nullable=False),
        sa.Column("permissions", pg.ARRAY(sa.String(16)), nullable=False),
        sa.Column("department_id", UUID, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_users"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),
    )
    enable_tenant_rls("users")

    op.create_table(
        "api_keys",
        *_tenant_columns(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("scopes", pg.ARRAY(sa.String(16)), nullable=False),
        sa.Column("created_by", UUID, nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_api_keys"),
        sa.UniqueConstraint("tenant_id", "secret_hash", name="uq_api_keys_tenant_id_secret_hash"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["users.tenant_id", "users.id"],
            ondelete="RESTRICT",
            name="fk_api_keys_tenant_id_created_by_users",
        ),
    )
    enable_tenant_rls("api_keys")

    op.create_table(
        "login_failures",
        *_tenant_columns(),
        sa.Column("email", sa.String(254), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_login_failures"),
    )
    op.create_index(
        "ix_login_failures_tenant_id_email_created_at",
        "login_failures",
        ["tenant_id", "email", "created_at"],
    )
    enable_tenant_rls("login_failures")


def downgrade() -> None:
    for table in ("login_failures", "api_keys", "users", "tenants"):
        op.drop_table(table)
