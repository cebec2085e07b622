"""SLA policies, escalation ladders, clocks and clock events: four tenant tables under
forced RLS; the sweep's cross-tenant claim function; the default policies for every
existing tenant.

The sweep runs as the application role, which sees one tenant at a time. Rather than
visiting every tenant, it calls `closeloop_sla_claim()`, a SECURITY DEFINER function
owned by the migration (owner) role: it takes due clocks of any tenant through the
partial index on `next_check_at`, moves them a lease ahead and returns their ids only.
RLS stays forced on `sla_clocks`; the owner passes it only through an extra policy that
is true while the function runs (it sets `closeloop.sla_sweep` on for its own work and
clears it). EXECUTE is revoked from PUBLIC and granted to the application role only.

Revision ID: 0006_sla
Revises: 0005_notifications
Create Date: 2026-11-26
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from closeloop.migrate import app_role, enable_tenant_rls

revision = "0006_sla"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None

NOW = sa.text("now()")
TENANT_TABLES = ("sla_policies", "sla_escalation_levels", "sla_clocks", "sla_clock_events")
SWEEP_GATE = "current_setting('closeloop.sla_sweep', true) = 'on'"

CLAIM_SIGNATURE = "closeloop_sla_claim(integer, timestamptz, integer)"
CLAIM = """
    CREATE FUNCTION closeloop_sla_claim(max_rows integer, due_by timestamptz,
                                        lease_seconds integer)
    RETURNS TABLE (tenant_id uuid, id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
    AS $fn$
    BEGIN
        PERFORM set_config('closeloop.sla_sweep', 'on', true);
        RETURN QUERY
            WITH due AS (
                SELECT c.tenant_id, c.id
                  FROM sla_clocks c
                 WHERE c.next_check_at <= due_by
                 ORDER BY c.next_check_at
                 LIMIT max_rows
                   FOR UPDATE OF c SKIP LOCKED
            )
            UPDATE sla_clocks s
               SET next_check_at = due_by + make_interval(secs => lease_seconds)
              FROM due
             WHERE s.tenant_id = due.tenant_id AND s.id = due.id
            RETURNING s.tenant_id, s.id;
        PERFORM set_config('closeloop.sla_sweep', '', true);
    END
    $fn$"""

# The defaults of closeloop.sla.defaults as of this revision (frozen: later changes to
# the defaults reach new tenants through seed_defaults, not this migration).
# fmt: off
DEFAULT_POLICIES = [{'code': 'critical',
  'name': '特急 Critical',
  'position': 10,
  'match_severity': 'critical',
  'targets': {'first_response': {'unit': 'calendar', 'hours': 1},
              'customer_update': {'unit': 'calendar', 'hours': 6},
              'resolution': {'unit': 'working_days', 'days': 2},
              'customer_contact': {'unit': 'working_days', 'days': 1},
              'first_feedback': {'unit': 'working_days', 'days': 2},
              'followup': {'unit': 'working_days', 'days': 5, 'earliest_days': 3},
              'second_handling': {'unit': 'calendar', 'hours': 24}},
  'levels': [{'target': 'first_response',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_handler', 'notify_supervisors']},
             {'target': 'first_response',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_supervisors', 'notify_manager', 'flag']},
             {'target': 'resolution',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_supervisors']},
             {'target': 'resolution',
              'trigger': 'percent',
              'threshold': 80,
              'actions': ['notify_supervisors', 'notify_manager']},
             {'target': 'resolution',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_supervisors', 'notify_manager', 'flag']},
             {'target': 'customer_update',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler']},
             {'target': 'customer_contact',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler', 'notify_supervisors']},
             {'target': 'first_feedback',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_role'],
              'role': 'followup'},
             {'target': 'followup',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_role', 'notify_supervisors'],
              'role': 'followup'},
             {'target': 'second_handling',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_handler', 'notify_manager']},
             {'target': 'second_handling',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_manager', 'notify_supervisors', 'flag']}]},
 {'code': 'urgent',
  'name': '紧急 Urgent',
  'position': 20,
  'match_severity': 'urgent',
  'targets': {'first_response': {'unit': 'calendar', 'hours': 4},
              'customer_update': {'unit': 'business', 'hours': 6},
              'resolution': {'unit': 'working_days', 'days': 5},
              'customer_contact': {'unit': 'working_days', 'days': 1},
              'first_feedback': {'unit': 'working_days', 'days': 2},
              'followup': {'unit': 'working_days', 'days': 5, 'earliest_days': 3},
              'second_handling': {'unit': 'calendar', 'hours': 24}},
  'levels': [{'target': 'first_response',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_handler']},
             {'target': 'first_response',
              'trigger': 'percent',
              'threshold': 80,
              'actions': ['notify_manager']},
             {'target': 'first_response',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_manager', 'notify_supervisors', 'flag']},
             {'target': 'resolution',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_handler']},
             {'target': 'resolution',
              'trigger': 'percent',
              'threshold': 80,
              'actions': ['notify_manager']},
             {'target': 'resolution',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_manager', 'notify_supervisors', 'flag']},
             {'target': 'resolution',
              'trigger': 'after_breach',
              'threshold': 24,
              'actions': ['reassign', 'notify_manager']},
             {'target': 'customer_update',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler']},
             {'target': 'customer_contact',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler', 'notify_supervisors']},
             {'target': 'first_feedback',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_role'],
              'role': 'followup'},
             {'target': 'followup',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_role', 'notify_supervisors'],
              'role': 'followup'},
             {'target': 'second_handling',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_handler', 'notify_manager']},
             {'target': 'second_handling',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_manager', 'notify_supervisors', 'flag']},
             {'target': 'resolution',
              'trigger': 'age',
              'threshold': 720,
              'actions': ['raise_severity', 'notify_supervisors'],
              'severity_code': 'critical'}]},
 {'code': 'default',
  'name': '普通 Normal',
  'position': 1000,
  'is_default': True,
  'targets': {'first_response': {'unit': 'calendar', 'hours': 24},
              'customer_update': {'unit': 'business', 'hours': 6},
              'resolution': {'unit': 'working_days', 'days': 10},
              'customer_contact': {'unit': 'working_days', 'days': 1},
              'first_feedback': {'unit': 'working_days', 'days': 2},
              'followup': {'unit': 'working_days', 'days': 5, 'earliest_days': 3},
              'second_handling': {'unit': 'calendar', 'hours': 24}},
  'levels': [{'target': 'first_response',
              'trigger': 'percent',
              'threshold': 80,
              'actions': ['notify_handler']},
             {'target': 'first_response',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler', 'notify_supervisors', 'flag']},
             {'target': 'resolution',
              'trigger': 'percent',
              'threshold': 80,
              'actions': ['notify_handler']},
             {'target': 'resolution',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler', 'notify_manager', 'flag']},
             {'target': 'resolution',
              'trigger': 'after_breach',
              'threshold': 24,
              'actions': ['notify_supervisors']},
             {'target': 'customer_update',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler']},
             {'target': 'customer_contact',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_handler', 'notify_supervisors']},
             {'target': 'first_feedback',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_role'],
              'role': 'followup'},
             {'target': 'followup',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_role', 'notify_supervisors'],
              'role': 'followup'},
             {'target': 'second_handling',
              'trigger': 'percent',
              'threshold': 50,
              'actions': ['notify_handler', 'notify_manager']},
             {'target': 'second_handling',
              'trigger': 'breach',
              'threshold': 0,
              'actions': ['notify_manager', 'notify_supervisors', 'flag']},
             {'target': 'resolution',
              'trigger': 'age',
              'threshold': 720,
              'actions': ['raise_severity', 'notify_supervisors'],
              'severity_code': 'critical'}]}]
# fmt: on


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    ]


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _fk(
    table: str, column: str, other: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{other}.tenant_id", f"{other}.id"],
        name=f"fk_{table}_tenant_id_{other}",
        ondelete=ondelete,
    )


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        *_tenant_columns(),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("match_kind", sa.String(32), nullable=True),
        sa.Column("match_severity", sa.String(64), nullable=True),
        sa.Column("match_category", sa.String(64), nullable=True),
        sa.Column("match_channel", sa.String(64), nullable=True),
        sa.Column("calendar_id", sa.Uuid(), nullable=True),
        sa.Column("targets", pg.JSONB(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        _tenant_fk("sla_policies"),
        _fk("sla_policies", "calendar_id", "calendars"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_sla_policies"),
        sa.UniqueConstraint("tenant_id", "code", name="uq_sla_policies_tenant_id_code"),
    )
    op.create_index(
        "uq_sla_policies_tenant_id_default",
        "sla_policies",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "sla_escalation_levels",
        *_tenant_columns(),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("actions", pg.ARRAY(sa.String(32)), nullable=False),
        sa.Column("role", sa.String(32), nullable=True),
        sa.Column("severity_code", sa.String(64), nullable=True),
        _tenant_fk("sla_escalation_levels"),
        _fk("sla_escalation_levels", "policy_id", "sla_policies", ondelete="CASCADE"),
        sa.CheckConstraint(
            "trigger IN ('percent', 'breach', 'after_breach', 'age')",
            name="ck_sla_escalation_levels_trigger",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_sla_escalation_levels"),
        sa.UniqueConstraint(
            "tenant_id",
            "policy_id",
            "target",
            "trigger",
            "threshold",
            name="uq_sla_escalation_levels_trigger",
        ),
    )
    op.create_table(
        "sla_clocks",
        *_tenant_columns(),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("calendar_id", sa.Uuid(), nullable=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("spec", pg.JSONB(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("span_seconds", sa.BigInteger(), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_seconds", sa.BigInteger(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired", pg.ARRAY(sa.String(160)), nullable=False),
        _tenant_fk("sla_clocks"),
        _fk("sla_clocks", "case_id", "cases", ondelete="CASCADE"),
        sa.CheckConstraint(
            "state IN ('running', 'paused', 'stopped', 'breached')", name="ck_sla_clocks_state"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_sla_clocks"),
        sa.UniqueConstraint(
            "tenant_id", "case_id", "cycle", "target",
            name="uq_sla_clocks_tenant_id_case_id_cycle_target",
        ),
    )  # fmt: skip
    op.create_index(
        "ix_sla_clocks_next_check_at",
        "sla_clocks",
        ["next_check_at"],
        postgresql_where=sa.text("next_check_at IS NOT NULL"),
    )
    op.create_table(
        "sla_clock_events",
        *_tenant_columns(),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("clock_id", sa.Uuid(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(32), nullable=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", pg.JSONB(), nullable=False),
        _tenant_fk("sla_clock_events"),
        _fk("sla_clock_events", "case_id", "cases", ondelete="CASCADE"),
        _fk("sla_clock_events", "clock_id", "sla_clocks", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_sla_clock_events"),
    )
    op.create_index(
        "ix_sla_clock_events_tenant_id_case_id_at",
        "sla_clock_events",
        ["tenant_id", "case_id", "at"],
    )

    role = app_role()
    for table in TENANT_TABLES:
        enable_tenant_rls(table)
    op.execute(
        "CREATE POLICY sla_sweep ON sla_clocks FOR ALL TO CURRENT_USER "
        f"USING ({SWEEP_GATE}) WITH CHECK ({SWEEP_GATE})"
    )
    op.execute(CLAIM)
    op.execute(f"REVOKE ALL ON FUNCTION {CLAIM_SIGNATURE} FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION {CLAIM_SIGNATURE} TO "{role}"')
    _seed_existing_tenants()


def _seed_existing_tenants() -> None:
    """The default policies for every tenant that exists now (RLS is forced on the owner
    too: bind each tenant before writing its rows). A policy or level naming a severity
    the tenant lacks is left out, as `seed_default_policies` does."""
    connection = op.get_bind()
    for (tenant_id,) in connection.execute(sa.text("SELECT id FROM tenants")).all():
        connection.execute(
            sa.text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant_id)}
        )
        severities = set(connection.execute(sa.text("SELECT code FROM severities")).scalars())
        for policy in DEFAULT_POLICIES:
            if policy.get("match_severity") and policy["match_severity"] not in severities:
                continue
            policy_id = uuid.uuid4()
            connection.execute(
                sa.text(
                    "INSERT INTO sla_policies (tenant_id, id, code, name, position, active, "
                    "is_default, match_severity, targets) VALUES (:tenant, :id, :code, :name, "
                    ":position, true, :is_default, :severity, CAST(:targets AS jsonb))"
                ),
                {
                    "tenant": tenant_id,
                    "id": policy_id,
                    "code": policy["code"],
                    "name": policy["name"],
                    "position": policy["position"],
                    "is_default": bool(policy.get("is_default")),
                    "severity": policy.get("match_severity"),
                    "targets": json.dumps(policy["targets"]),
                },
            )
            levels = [
                level
                for level in policy["levels"]
                if level.get("severity_code") is None or level["severity_code"] in severities
            ]
            for position, level in enumerate(levels):
                connection.execute(
                    sa.text(
                        "INSERT INTO sla_escalation_levels (tenant_id, id, policy_id, position, "
                        "target, trigger, threshold, actions, role, severity_code) VALUES "
                        "(:tenant, :id, :policy, :position, :target, :trigger, :threshold, "
                        ":actions, :role, :severity)"
                    ),
                    {
                        "tenant": tenant_id,
                        "id": uuid.uuid4(),
                        "policy": policy_id,
                        "position": position,
                        "target": level["target"],
                        "trigger": level["trigger"],
                        "threshold": level["threshold"],
                        "actions": level["actions"],
                        "role": level.get("role"),
                        "severity": level.get("severity_code"),
                    },
                )
    connection.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {CLAIM_SIGNATURE}")
    op.drop_table("sla_clock_events")
    op.drop_table("sla_clocks")
    op.drop_table("sla_escalation_levels")
    op.drop_index("uq_sla_policies_tenant_id_default", table_name="sla_policies")
    op.drop_table("sla_policies")
