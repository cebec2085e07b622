"""The outbox wakes its relay by trigger: a statement-level trigger on
`outbox_messages` sends `NOTIFY closeloop_outbox`, so `enqueue()` is one INSERT
instead of an INSERT and a `SELECT pg_notify(...)`.

PostgreSQL delivers a notification only when the transaction commits, and folds
identical ones of one transaction into one: a rolled back change still wakes nobody,
and a transaction that enqueues ten jobs wakes the relay once.

Revision ID: 0010_outbox_notify_trigger
Revises: 0009_config_version
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0010_outbox_notify_trigger"
down_revision = "0009_config_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notify_outbox() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('closeloop_outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        'CREATE TRIGGER "outbox_notify" AFTER INSERT ON "outbox_messages" '
        "FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox()"
    )


def downgrade() -> None:
    op.execute('DROP TRIGGER "outbox_notify" ON "outbox_messages"')
    op.execute("DROP FUNCTION notify_outbox()")
