"""Repeat detection reads only the customer's cases: the index that finds them also
gives their order.

Intake looks for earlier cases of the same customer and category within the repeat
window, oldest first (`ORDER BY received_at, id LIMIT 20`). The index
`(tenant_id, customer_id, category_id, received_at)` found them but not in that order,
so the planner could prefer `(tenant_id, received_at, id)`, which has the order, and
filter: then every intake read all of the tenant's cases of the last 30 days. With
`id` last, one index has both, and a repeat lookup reads only the customer's cases.

Built concurrently, so intake keeps writing while it is built.

Revision ID: 0012_intake_growth
Revises: 0011_audit_append
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0012_intake_growth"
down_revision = "0011_audit_append"
branch_labels = None
depends_on = None

OLD = "ix_cases_tenant_id_customer_id_category_id_received_at"
NEW = "ix_cases_tenant_id_customer_id_category_id_received_at_id"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            NEW,
            "cases",
            ["tenant_id", "customer_id", "category_id", "received_at", "id"],
            postgresql_concurrently=True,
        )
        op.drop_index(OLD, "cases", postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            OLD,
            "cases",
            ["tenant_id", "customer_id", "category_id", "received_at"],
            postgresql_concurrently=True,
        )
        op.drop_index(NEW, "cases", postgresql_concurrently=True)
