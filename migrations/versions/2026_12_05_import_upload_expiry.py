"""Uploads of the console's import page expire: `import_uploads.expires_at` (set from
`CLOSELOOP_IMPORT_UPLOAD_DAYS` when a file is uploaded and when a run starts from it)
with an index over it, `rows_exact` (False when the row count is a large sheet's
stated range), and the upload sweep's cross-tenant look-up.

The scheduler asks `closeloop_import_uploads_due()` which tenants have an expired
upload and queues the sweep's job for those alone. Like the SLA and report claims
(`0006_sla`, `0021_report_next_run`) it is a SECURITY DEFINER function owned by the
migration (owner) role; it only reads, and returns tenant ids. RLS stays forced on
`import_uploads`; the owner passes it, for reading only, through an extra policy that
is true while the function runs (`closeloop.upload_sweep`). EXECUTE is revoked from
PUBLIC and granted to the application role only. The job deletes the files under the
tenant's own policy.

Uploads stored before this revision expire `CLOSELOOP_IMPORT_UPLOAD_DAYS` (default 7)
days after it.

Revision ID: 0022_import_upload_expiry
Revises: 0021_report_next_run
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from closeloop.migrate import app_role

revision = "0022_import_upload_expiry"
down_revision = "0021_report_next_run"
branch_labels = None
depends_on = None

SWEEP_GATE = "current_setting('closeloop.upload_sweep', true) = 'on'"
DUE_SIGNATURE = "closeloop_import_uploads_due(timestamptz)"
DUE = """
    CREATE FUNCTION closeloop_import_uploads_due(due_by timestamptz)
    RETURNS TABLE (tenant_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
        PERFORM set_config('closeloop.upload_sweep', 'on', true);
        RETURN QUERY
            SELECT DISTINCT u.tenant_id
              FROM import_uploads u
              JOIN tenants t ON t.id = u.tenant_id AND t.status = 'active'
             WHERE u.expires_at <= due_by;
        PERFORM set_config('closeloop.upload_sweep', '', true);
    END
    $fn$"""


def upgrade() -> None:
    op.add_column(
        "import_uploads",
        sa.Column(
            "expires_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now() + interval '7 days'"),
            nullable=False,
        ),
    )
    op.alter_column("import_uploads", "expires_at", server_default=None)
    op.add_column(
        "import_uploads",
        sa.Column("rows_exact", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.alter_column("import_uploads", "rows_exact", server_default=None)
    op.create_index(op.f("ix_import_uploads_expires_at"), "import_uploads", ["expires_at"])
    op.execute(
        "CREATE POLICY upload_sweep ON import_uploads FOR SELECT TO CURRENT_USER "
        f"USING ({SWEEP_GATE})"
    )
    op.execute(DUE)
    op.execute(f"REVOKE ALL ON FUNCTION {DUE_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {DUE_SIGNATURE} TO "{app_role()}"')


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {DUE_SIGNATURE}")
    op.execute("DROP POLICY IF EXISTS upload_sweep ON import_uploads")
    op.drop_index(op.f("ix_import_uploads_expires_at"), table_name="import_uploads")
    op.drop_column("import_uploads", "rows_exact")
    op.drop_column("import_uploads", "expires_at")
