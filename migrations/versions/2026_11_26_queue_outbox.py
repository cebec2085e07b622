"""Background work: outbox, processed messages, dead letters (tenant tables, forced RLS),
scheduled runs (platform), and the relay's cross-tenant functions.

The relay and the operators' dead-letter list run as the application role, which sees
one tenant at a time. Rather than scanning every tenant every second, they call a few
SECURITY DEFINER functions owned by the migration (owner) role. RLS stays forced on the
tables; the owner passes it only through an extra policy that is true solely while one of
these functions runs (each sets `closeloop.queue_relay` on for its own work, then clears it).
EXECUTE is revoked from PUBLIC and granted to the application role only.

Revision ID: 0003_queue_outbox
Revises: 0002_cases
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from closeloop.migrate import app_role, enable_tenant_rls

revision = "0003_queue_outbox"
down_revision = "0002_cases"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
TENANT_TABLES = ("outbox_messages", "processed_messages", "dead_letters")
RELAY_GATE = "current_setting('closeloop.queue_relay', true) = 'on'"


def _definer(signature: str, returns: str, declare: str, body: str) -> str:
    """A PL/pgSQL SECURITY DEFINER function that opens the relay gate for its own work only.

    (A `SET closeloop.queue_relay = on` clause would be neater, but PostgreSQL lets only
    superusers attach a custom setting to a function.)
    """
    return f"""
        CREATE FUNCTION {signature} RETURNS {returns}
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
        AS $fn$
        #variable_conflict use_column
        {declare}
        BEGIN
            PERFORM set_config('closeloop.queue_relay', 'on', true);
            {body}
        END
        $fn$"""


_CLOSE_GATE = "PERFORM set_config('closeloop.queue_relay', '', true);"

FUNCTIONS = {
    "closeloop_outbox_claim(integer)": _definer(
        "closeloop_outbox_claim(max_rows integer)",
        "TABLE (tenant_id uuid, id uuid, actor_name varchar, queue_name varchar, args jsonb, "
        "attempts integer, request_id varchar)",
        "",
        f"""RETURN QUERY
                SELECT o.tenant_id, o.id, o.actor_name, o.queue_name, o.args, o.attempts,
                       o.request_id
                  FROM outbox_messages o
                 WHERE o.status = 'pending' AND o.available_at <= now()
                 ORDER BY o.available_at
                 LIMIT max_rows
                   FOR UPDATE OF o SKIP LOCKED;
            {_CLOSE_GATE}""",
    ),
    "closeloop_outbox_mark_sent(uuid[], uuid[])": _definer(
        "closeloop_outbox_mark_sent(tenant_ids uuid[], ids uuid[])",
        "integer",
        "DECLARE done integer;",
        f"""UPDATE outbox_messages o
               SET status = 'sent', sent_at = now(), attempts = o.attempts + 1
              FROM unnest(tenant_ids, ids) AS k(tenant_id, id)
             WHERE o.tenant_id = k.tenant_id AND o.id = k.id AND o.status = 'pending';
            GET DIAGNOSTICS done = ROW_COUNT;
            {_CLOSE_GATE}
            RETURN done;""",
    ),
    "closeloop_outbox_next_due()": _definer(
        "closeloop_outbox_next_due()",
        "timestamptz",
        "DECLARE due timestamptz;",
        f"""SELECT min(o.available_at) INTO due FROM outbox_messages o
             WHERE o.status = 'pending';
            {_CLOSE_GATE}
            RETURN due;""",
    ),
    "closeloop_dead_letters(integer, timestamptz)": _definer(
        "closeloop_dead_letters(max_rows integer, older_than timestamptz)",
        "TABLE (tenant_id uuid, tenant_slug varchar, id uuid, created_at timestamptz, "
        "message_id uuid, actor_name varchar, queue_name varchar, args jsonb, reason varchar, "
        "retries integer, error text)",
        "",
        f"""RETURN QUERY
                SELECT d.tenant_id, t.slug, d.id, d.created_at, d.message_id, d.actor_name,
                       d.queue_name, d.args, d.reason, d.retries, d.error
                  FROM dead_letters d JOIN tenants t ON t.id = d.tenant_id
                 WHERE older_than IS NULL OR d.created_at < older_than
                 ORDER BY d.created_at DESC, d.id DESC
                 LIMIT max_rows;
            {_CLOSE_GATE}""",
    ),
    "closeloop_queue_prune(interval)": _definer(
        "closeloop_queue_prune(keep interval)",
        "integer",
        "DECLARE outbox integer; processed integer;",
        f"""DELETE FROM outbox_messages o WHERE o.status = 'sent' AND o.sent_at < now() - keep;
            GET DIAGNOSTICS outbox = ROW_COUNT;
            DELETE FROM processed_messages p WHERE p.created_at < now() - keep;
            GET DIAGNOSTICS processed = ROW_COUNT;
            {_CLOSE_GATE}
            RETURN outbox + processed;""",
    ),
}


def _tenant_columns(table: str) -> list[sa.Column[object]]:
    return [
        sa.Column(
            "tenant_id",
            sa.Uuid(),
            sa.ForeignKey("tenants.id", ondelete="CASCADE", name=f"fk_{table}_tenant_id_tenants"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        *_tenant_columns("outbox_messages"),
        sa.Column("actor_name", sa.String(100), nullable=False),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("args", pg.JSONB(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent')", name="ck_outbox_messages_status"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_outbox_messages"),
    )
    op.create_index(
        "ix_outbox_messages_pending_available_at",
        "outbox_messages",
        ["available_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_outbox_messages_sent_at",
        "outbox_messages",
        ["sent_at"],
        postgresql_where=sa.text("status = 'sent'"),
    )
    op.create_table(
        "processed_messages",
        *_tenant_columns("processed_messages"),
        sa.Column("actor_name", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_processed_messages"),
    )
    op.create_index("ix_processed_messages_created_at", "processed_messages", ["created_at"])
    op.create_table(
        "dead_letters",
        *_tenant_columns("dead_letters"),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("actor_name", sa.String(100), nullable=False),
        sa.Column("queue_name", sa.String(100), nullable=False),
        sa.Column("args", pg.JSONB(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_created_at", "dead_letters", ["created_at"])
    op.create_table(
        "scheduled_runs",
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scheduled_runs"),
    )

    role = app_role()
    for table in TENANT_TABLES:
        enable_tenant_rls(table)
        op.execute(
            f'CREATE POLICY queue_relay ON "{table}" FOR ALL TO CURRENT_USER '
            f"USING ({RELAY_GATE}) WITH CHECK ({RELAY_GATE})"
        )
    for signature, body in FUNCTIONS.items():
        op.execute(body)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f'GRANT EXECUTE ON FUNCTION {signature} TO "{role}"')


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_table("scheduled_runs")
    op.drop_table("dead_letters")
    op.drop_table("processed_messages")
    op.drop_table("outbox_messages")
