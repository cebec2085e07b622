"""Report schedules: `next_run_at`, when the sweep must next look at a schedule, with a
partial index over the active ones, and the sweep's cross-tenant claim function.

The scheduler used to queue the report sweep for every active tenant every minute. It
now calls `closeloop_report_claim()`, a SECURITY DEFINER function owned by the migration
(owner) role, as the SLA sweep does (`0006_sla`): it takes the active schedules of
active tenants whose `next_run_at` has come, through the index, moves them a lease
ahead and returns (tenant, schedule) ids only; a job is queued for those tenants alone.
RLS stays forced on `report_schedules`; the owner passes it only through an extra
policy that is true while the function runs (`closeloop.report_sweep`). EXECUTE is
revoked from PUBLIC and granted to the application role only.

Existing active schedules are due at once: the first sweep looks at each, and the job
sets its real `next_run_at` (the send time of its next period, on the tenant's
calendar).

Revision ID: 0021_report_next_run
Revises: 0020_report_speed
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from closeloop.migrate import app_role

revision = "0021_report_next_run"
down_revision = "0020_report_speed"
branch_labels = None
depends_on = None

SWEEP_GATE = "current_setting('closeloop.report_sweep', true) = 'on'"
CLAIM_SIGNATURE = "closeloop_report_claim(timestamptz, integer, integer)"
CLAIM = """
    CREATE FUNCTION closeloop_report_claim(due_by timestamptz, lease_seconds integer,
                                           max_rows integer)
    RETURNS TABLE (tenant_id uuid, id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
        PERFORM set_config('closeloop.report_sweep', 'on', true);
        RETURN QUERY
            WITH due AS (
                SELECT s.tenant_id, s.id
                  FROM report_schedules s
                  JOIN tenants t ON t.id = s.tenant_id AND t.status = 'active'
                 WHERE s.active AND s.next_run_at <= due_by
                 ORDER BY s.next_run_at
                 LIMIT max_rows
                   FOR UPDATE OF s SKIP LOCKED
            )
            UPDATE report_schedules r
               SET next_run_at = due_by + make_interval(secs => lease_seconds)
              FROM due
             WHERE r.tenant_id = due.tenant_id AND r.id = due.id
            RETURNING r.tenant_id, r.id;
        PERFORM set_config('closeloop.report_sweep', '', true);
    END
    $fn$"""


def upgrade() -> None:
    op.add_column(
        "report_schedules", sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_report_schedules_next_run_at",
        "report_schedules",
        ["next_run_at"],
        postgresql_where=sa.text("active"),
    )
    op.execute(
        "CREATE POLICY report_sweep ON report_schedules FOR ALL TO CURRENT_USER "
        f"USING ({SWEEP_GATE}) WITH CHECK ({SWEEP_GATE})"
    )
    op.execute(CLAIM)
    op.execute(f"REVOKE ALL ON FUNCTION {CLAIM_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {CLAIM_SIGNATURE} TO "{app_role()}"')
    # Every tenant's active schedules, through the sweep's gate (RLS is forced on the
    # owner too), for this transaction only.
    op.execute("SELECT set_config('closeloop.report_sweep', 'on', true)")
    op.execute("UPDATE report_schedules SET next_run_at = now() WHERE active")
    op.execute("SELECT set_config('closeloop.report_sweep', '', true)")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {CLAIM_SIGNATURE}")
    op.execute("DROP POLICY IF EXISTS report_sweep ON report_schedules")
    op.drop_index("ix_report_schedules_next_run_at", table_name="report_schedules")
    op.drop_column("report_schedules", "next_run_at")
