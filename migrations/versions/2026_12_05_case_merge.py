"""Case merge: `cases.merged_into_id`, the case a duplicate was merged into.

A merged case keeps its own row and timeline with status `merged`; the column links it
to the case it duplicates, in the same tenant (the foreign key includes `tenant_id`),
so reports can count the two as one case.

Revision ID: 0015_case_merge
Revises: 0014_console_sessions
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_case_merge"
down_revision = "0014_console_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("merged_into_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_cases_tenant_id_merged_into_id_cases"),
        "cases",
        "cases",
        ["tenant_id", "merged_into_id"],
        ["tenant_id", "id"],
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_cases_tenant_id_merged_into_id_cases"), "cases", type_="foreignkey")
    op.drop_column("cases", "merged_into_id")
