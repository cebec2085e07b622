"""Business calendars: one tenant table under forced RLS, at most one default per tenant;
every existing tenant gets the default calendar (China's public holidays, Mon-Fri
09:00-12:00 and 13:30-18:00, in the tenant's time zone).

Revision ID: 0004_calendars
Revises: 0003_queue_outbox
Create Date: 2026-11-26
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from closeloop.migrate import enable_tenant_rls

revision = "0004_calendars"
down_revision = "0003_queue_outbox"
branch_labels = None
depends_on = None

DEFAULT_WEEK_HOURS = {
    **{day: ["09:00-12:00", "13:30-18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": [],
    "sun": [],
}


def upgrade() -> None:
    op.create_table(
        "calendars",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=8), nullable=True),
        sa.Column("subdivision", sa.String(length=16), nullable=True),
        sa.Column("week_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("workday_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "extra_holidays", postgresql.ARRAY(sa.Date()), server_default="{}", nullable=False
        ),
        sa.Column(
            "extra_working_days", postgresql.ARRAY(sa.Date()), server_default="{}", nullable=False
        ),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_calendars_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_calendars")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_calendars_tenant_id_code")),
    )
    op.create_index(
        "uq_calendars_tenant_id_default",
        "calendars",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    enable_tenant_rls("calendars")
    _seed_existing_tenants()


def _seed_existing_tenants() -> None:
    """RLS is forced on the owner too: bind each tenant before writing its row."""
    connection = op.get_bind()
    tenants = connection.execute(sa.text("SELECT id, timezone FROM tenants")).all()
    for tenant_id, timezone in tenants:
        connection.execute(
            sa.text("SELECT set_config('app.tenant_id', :tenant, true)"),
            {"tenant": str(tenant_id)},
        )
        connection.execute(
            sa.text(
                "INSERT INTO calendars (tenant_id, id, code, name, timezone, country, "
                "week_hours, is_default) VALUES (:tenant, gen_random_uuid(), 'default', "
                "'工作日历 Business calendar', :timezone, 'CN', CAST(:hours AS jsonb), true)"
            ),
            {"tenant": tenant_id, "timezone": timezone, "hours": json.dumps(DEFAULT_WEEK_HOURS)},
        )
    connection.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    op.drop_index("uq_calendars_tenant_id_default", table_name="calendars")
    op.drop_table("calendars")
