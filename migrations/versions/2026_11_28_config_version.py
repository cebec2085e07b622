"""Configuration version: `tenants.config_version`, bumped by a trigger on every
configuration table, so app processes can cache a tenant's configuration and know
when their copy is stale (closeloop.config.current).

Revision ID: 0009_config_version
Revises: 0008_customer_loop
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_config_version"
down_revision = "0008_customer_loop"
branch_labels = None
depends_on = None

# Every table whose rows closeloop.config.current may cache.
CONFIG_TABLES = (
    "tenant_profiles",
    "departments",
    "categories",
    "severities",
    "channels",
    "demand_types",
    "notification_templates",
    "webhook_endpoints",
    "tenant_keys",
    "calendars",
    "sla_policies",
    "sla_escalation_levels",
    "tenant_plugins",
    "users",  # who may do what: authentication caches the user too
)


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("config_version", sa.BigInteger(), server_default="0", nullable=False),
    )
    # Runs as the role that wrote the row (the app role may update tenants); one
    # statement-level bump per tenant touched, whatever the number of rows.
    op.execute(
        """
        CREATE FUNCTION bump_config_version() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                UPDATE tenants SET config_version = config_version + 1
                 WHERE id IN (SELECT DISTINCT tenant_id FROM old_rows);
            ELSE
                UPDATE tenants SET config_version = config_version + 1
                 WHERE id IN (SELECT DISTINCT tenant_id FROM new_rows);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    for table in CONFIG_TABLES:
        for operation, transition in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            op.execute(
                f'CREATE TRIGGER "config_version_{operation.lower()}" '
                f'AFTER {operation} ON "{table}" REFERENCING {transition} '
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version()"
            )


def downgrade() -> None:
    for table in CONFIG_TABLES:
        for operation in ("insert", "update", "delete"):
            op.execute(f'DROP TRIGGER "config_version_{operation}" ON "{table}"')
    op.execute("DROP FUNCTION bump_config_version()")
    op.drop_column("tenants", "config_version")
