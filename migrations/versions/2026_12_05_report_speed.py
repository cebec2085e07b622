"""Reports: a partial index on the merged cases' facts, so the on-time rate leaves out
the clocks of merged cases with one small lookup instead of a probe per clock.

Revision ID: 0020_report_speed
Revises: 0019_report_schedules
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_report_speed"
down_revision = "0019_report_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_facts_merged",
        "case_facts",
        ["tenant_id", "id"],
        postgresql_where=sa.text("merged"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_facts_merged", table_name="case_facts")
