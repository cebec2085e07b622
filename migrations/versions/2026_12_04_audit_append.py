"""`audit_append()`: a tenant's audit entries appended to its chain in one statement.

Appending took three statements under the chain's lock (the lock, a read of the
chain's end, the INSERT), and the lock stays held until the transaction commits. The
function does the three in one round trip. The hash is the same as ever,
`sha256(prev_hash || canonical JSON of the entry)`: the application computes the
canonical JSON of each entry but for its `seq`, which only the lock holder knows, and
passes the text before and after the number (`seq` is followed only by `tenant_id` in
the sorted keys, so the split is exact); the function puts the number in and hashes.
Existing rows verify unchanged.

Runs as the caller (the application role, row-level security applying); executable by
the application role alone.

Revision ID: 0011_audit_append
Revises: 0010_outbox_notify_trigger
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

from closeloop.migrate import app_role

revision = "0011_audit_append"
down_revision = "0010_outbox_notify_trigger"
branch_labels = None
depends_on = None

SIGNATURE = "audit_append(uuid, integer, timestamptz, jsonb)"


def upgrade() -> None:
    # `entries`: a JSON array of objects with id, at, actor, action, entity_type,
    # entity_id, before, after, and `head` / `tail`, the canonical JSON around `seq`.
    op.execute(
        """
        CREATE FUNCTION audit_append(
            p_tenant uuid, p_lock integer, p_created_at timestamptz, p_entries jsonb
        ) RETURNS TABLE (seq bigint, prev_hash bytea, hash bytea)
        LANGUAGE plpgsql AS $$
        DECLARE
            v_seq bigint;
            v_hash bytea;
            v_new bytea;
            v_entry jsonb;
        BEGIN
            -- One writer per tenant chain at a time; released when the transaction ends.
            PERFORM pg_advisory_xact_lock(1096107092, p_lock);  -- 0x41554454, "AUDT"
            SELECT a.seq, a.hash INTO v_seq, v_hash
              FROM audit_entries a
             WHERE a.tenant_id = p_tenant
             ORDER BY a.seq DESC
             LIMIT 1;
            IF NOT FOUND THEN
                v_seq := 0;
                v_hash := decode(repeat('00', 32), 'hex');
            END IF;
            FOR v_entry IN SELECT value FROM jsonb_array_elements(p_entries) LOOP
                v_seq := v_seq + 1;
                v_new := sha256(
                    v_hash || convert_to(
                        (v_entry->>'head') || v_seq::text || (v_entry->>'tail'), 'UTF8'
                    )
                );
                INSERT INTO audit_entries (
                    tenant_id, id, seq, at, actor, action, entity_type, entity_id,
                    before, after, prev_hash, hash, created_at
                ) VALUES (
                    p_tenant,
                    (v_entry->>'id')::uuid,
                    v_seq,
                    (v_entry->>'at')::timestamptz,
                    v_entry->>'actor',
                    v_entry->>'action',
                    v_entry->>'entity_type',
                    (v_entry->>'entity_id')::uuid,
                    NULLIF(v_entry->'before', 'null'::jsonb),
                    NULLIF(v_entry->'after', 'null'::jsonb),
                    v_hash,
                    v_new,
                    p_created_at
                );
                seq := v_seq;
                prev_hash := v_hash;
                hash := v_new;
                RETURN NEXT;
                v_hash := v_new;
            END LOOP;
        END
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {SIGNATURE} TO "{app_role()}"')


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {SIGNATURE}")
