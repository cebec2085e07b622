"""Cases, tenant configuration, audit and PII keys, each tenant table under forced RLS.

The application role may only read and append audit entries.

Revision ID: 0002_cases
Revises: 0001_foundation
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from closeloop.migrate import app_role, enable_tenant_rls

revision = "0002_cases"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


TENANT_TABLES = [
    "audit_entries",
    "channels",
    "customers",
    "demand_types",
    "number_counters",
    "severities",
    "tenant_keys",
    "tenant_profiles",
    "departments",
    "categories",
    "cases",
    "attachments",
    "case_events",
]


def upgrade() -> None:
    op.create_table(
        "audit_entries",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
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
            name=op.f("fk_audit_entries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("tenant_id", "seq", name=op.f("uq_audit_entries_tenant_id_seq")),
    )
    op.create_table(
        "channels",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
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
            name=op.f("fk_channels_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_channels")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_channels_tenant_id_code")),
    )
    op.create_table(
        "customers",
        sa.Column("external_ref", sa.String(length=128), nullable=True),
        sa.Column("nickname", sa.String(length=200), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("id_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("email_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
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
            name=op.f("fk_customers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "tenant_id", "external_ref", name=op.f("uq_customers_tenant_id_external_ref")
        ),
    )
    op.create_index(
        op.f("ix_customers_tenant_id_email_hash"),
        "customers",
        ["tenant_id", "email_hash"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customers_tenant_id_phone_hash"),
        "customers",
        ["tenant_id", "phone_hash"],
        unique=False,
    )
    op.create_table(
        "demand_types",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
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
            name=op.f("fk_demand_types_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_demand_types")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_demand_types_tenant_id_code")),
    )
    op.create_table(
        "number_counters",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
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
            name=op.f("fk_number_counters_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_number_counters")),
        sa.UniqueConstraint("tenant_id", "scope", name=op.f("uq_number_counters_tenant_id_scope")),
    )
    op.create_table(
        "severities",
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
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
            name=op.f("fk_severities_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_severities")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_severities_tenant_id_code")),
        sa.UniqueConstraint("tenant_id", "rank", name=op.f("uq_severities_tenant_id_rank")),
    )
    op.create_table(
        "tenant_keys",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
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
            name=op.f("fk_tenant_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tenant_keys")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_tenant_keys_tenant_id_version")),
    )
    op.create_table(
        "tenant_profiles",
        sa.Column("number_patterns", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("satisfaction_scale", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("followup_script", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("followup_window_days", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("repeat_window_days", sa.Integer(), nullable=False),
        sa.Column("pii_mode", sa.String(length=16), nullable=False),
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
            name=op.f("fk_tenant_profiles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tenant_profiles")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_tenant_profiles_tenant_id")),
    )
    op.create_table(
        "departments",
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("manager_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "manager_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_departments_tenant_id_manager_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["departments.tenant_id", "departments.id"],
            name=op.f("fk_departments_tenant_id_parent_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_departments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_departments")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_departments_tenant_id_code")),
    )
    op.create_table(
        "categories",
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("case_kind", sa.String(length=32), nullable=True),
        sa.Column("default_department_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "default_department_id"],
            ["departments.tenant_id", "departments.id"],
            name=op.f("fk_categories_tenant_id_default_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"],
            ["categories.tenant_id", "categories.id"],
            name=op.f("fk_categories_tenant_id_parent_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_categories_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_categories")),
        sa.UniqueConstraint("tenant_id", "code", name=op.f("uq_categories_tenant_id_code")),
    )
    op.create_table(
        "cases",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("category_id", sa.Uuid(), nullable=True),
        sa.Column("category_code", sa.String(length=64), nullable=True),
        sa.Column("severity_id", sa.Uuid(), nullable=True),
        sa.Column("severity_code", sa.String(length=64), nullable=True),
        sa.Column("severity_rank", sa.Integer(), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("product", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("problem_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("problem_place", sa.String(length=500), nullable=True),
        sa.Column("demands", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("extra", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("registrar_id", sa.Uuid(), nullable=True),
        sa.Column("registrar_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("lead_department_id", sa.Uuid(), nullable=True),
        sa.Column("collaborating_department_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("handler_id", sa.Uuid(), nullable=True),
        sa.Column("handler_history", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resume_status", sa.String(length=32), nullable=True),
        sa.Column("resolution", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("first_satisfaction", sa.String(length=32), nullable=True),
        sa.Column("followup_outcome", sa.String(length=32), nullable=True),
        sa.Column("followup_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("repeat_of", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("is_repeat", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("public_token_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("search", postgresql.TSVECTOR(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "category_id"],
            ["categories.tenant_id", "categories.id"],
            name=op.f("fk_cases_tenant_id_category_id_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_cases_tenant_id_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "handler_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_cases_tenant_id_handler_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "lead_department_id"],
            ["departments.tenant_id", "departments.id"],
            name=op.f("fk_cases_tenant_id_lead_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "registrar_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_cases_tenant_id_registrar_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "severity_id"],
            ["severities.tenant_id", "severities.id"],
            name=op.f("fk_cases_tenant_id_severity_id_severities"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_cases_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_cases")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_cases_tenant_id_idempotency_key")
        ),
        sa.UniqueConstraint("tenant_id", "number", name=op.f("uq_cases_tenant_id_number")),
    )
    op.create_index(
        op.f("ix_cases_search"), "cases", ["search"], unique=False, postgresql_using="gin"
    )
    op.create_index(
        op.f("ix_cases_tenant_id_customer_id_category_id_received_at"),
        "cases",
        ["tenant_id", "customer_id", "category_id", "received_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cases_tenant_id_received_at_id"),
        "cases",
        ["tenant_id", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_cases_tenant_id_status_due_at"),
        "cases",
        ["tenant_id", "status", "due_at"],
        unique=False,
    )
    op.create_table(
        "attachments",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(length=32), nullable=False),
        sa.Column("storage_key", sa.String(length=300), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_attachments_tenant_id_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_attachments_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_attachments")),
    )
    op.create_table(
        "case_events",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "case_id"],
            ["cases.tenant_id", "cases.id"],
            name=op.f("fk_case_events_tenant_id_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_case_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_case_events")),
    )
    op.create_index(
        op.f("ix_case_events_tenant_id_case_id_created_at"),
        "case_events",
        ["tenant_id", "case_id", "created_at"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_users_tenant_id_department_id_departments"),
        "users",
        "departments",
        ["tenant_id", "department_id"],
        ["tenant_id", "id"],
        use_alter=True,
    )
    for table in TENANT_TABLES:
        enable_tenant_rls(table)
    # Audit entries are append-only for the application: no UPDATE, DELETE or TRUNCATE.
    op.execute(f'REVOKE UPDATE, DELETE, TRUNCATE ON audit_entries FROM "{app_role()}"')


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_users_tenant_id_department_id_departments"), "users", type_="foreignkey"
    )
    op.drop_index(op.f("ix_case_events_tenant_id_case_id_created_at"), table_name="case_events")
    op.drop_table("case_events")
    op.drop_table("attachments")
    op.drop_index(op.f("ix_cases_tenant_id_status_due_at"), table_name="cases")
    op.drop_index(op.f("ix_cases_tenant_id_received_at_id"), table_name="cases")
    op.drop_index(
        op.f("ix_cases_tenant_id_customer_id_category_id_received_at"), table_name="cases"
    )
    op.drop_index(op.f("ix_cases_search"), table_name="cases", postgresql_using="gin")
    op.drop_table("cases")
    op.drop_table("categories")
    op.drop_table("departments")
    op.drop_table("tenant_profiles")
    op.drop_table("tenant_keys")
    op.drop_table("severities")
    op.drop_table("number_counters")
    op.drop_table("demand_types")
    op.drop_index(op.f("ix_customers_tenant_id_phone_hash"), table_name="customers")
    op.drop_index(op.f("ix_customers_tenant_id_email_hash"), table_name="customers")
    op.drop_table("customers")
    op.drop_table("channels")
    op.drop_table("audit_entries")
