"""Bulk history for one tenant, by SQL: what `bench/intake_growth.py` fills the tenant with.

Every seeded row is a copy of a row the app itself wrote at intake (the template case
of the tenant, its customer, timeline event, SLA clocks and their events, its
acknowledgement and its audit entries) with the columns that make it another row
replaced, so sizes and shapes are the app's own. Per seeded case:

* a customer for four cases in five (the others are returning customers), with name
  and e-mail encrypted and the e-mail's blind index computed by the tenant's own
  cipher (`closeloop.pii.cipher`), as intake stores them;
* the case: received over the two years before the current one, closed or archived
  by now, numbered in its year's `CT-`/`SR-` counter (whose rows are set to match),
  its text and search vector from real complaints (`_support.complaint_texts`, the
  app's tokenizer);
* four timeline events, two SLA clocks (stopped) with four clock events, three
  customer notifications (sent), and two audit entries (their hashes are stand-ins:
  the seeded part of the chain does not verify, which no intake reads).

The outbox and the actors' processed-message records are not seeded: the scheduler
prunes them after days, so a tenant's history never holds them.

Runs as the owner role with `app.tenant_id` set (row-level security is forced on the
owner too), in batches of `BATCH` cases, one transaction each, indexes in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from closeloop.cases.search import document_tokens
from closeloop.notify.events import ACKNOWLEDGEMENT, PROGRESS_UPDATE, RESULT
from closeloop.pii.cipher import TenantCipher

__all__ = ["BATCH", "SETUP", "seed_history"]

BATCH = 10_000
CASES_PER_CUSTOMER = 5 / 4

# Work tables of the seeding, made before the app starts: creating a table (or a
# session's first temporary table) while it runs would invalidate every plan its
# connections have cached, and so change what is measured.
SETUP = """
CREATE UNLOGGED TABLE seed_docs (
    k integer PRIMARY KEY, title text, description text, search tsvector);
CREATE UNLOGGED TABLE seed_customers (
    n bigint PRIMARY KEY, id uuid, name_enc bytea, email_enc bytea, email_hash bytea);
CREATE UNLOGGED TABLE seed_cases (
    n bigint PRIMARY KEY, id uuid, customer_id uuid, kind text, number text,
    received_at timestamptz, status text, category_id uuid, category_code text, k integer);
"""

# The seeded cases of one batch: numbers continue each year's counter.
_CASES = """
INSERT INTO seed_cases
SELECT g.n, gen_random_uuid(), c.id, s.kind,
       (CASE s.kind WHEN 'complaint' THEN 'CT-' ELSE 'SR-' END) || s.year || '-'
         || to_char(coalesce(nc.value, 0) + row_number() OVER (PARTITION BY s.kind, s.year
                    ORDER BY g.n), 'FM9999999900000'),
       s.received_at,
       CASE WHEN g.n % 4 = 0 THEN 'archived' WHEN g.n % 19 = 0 THEN 'closed_invalid'
            ELSE 'closed' END,
       cat.id, cat.code, (g.n % $3)::integer
  FROM generate_series($1::bigint, $1::bigint + $2 - 1) AS g(n)
  CROSS JOIN LATERAL (SELECT
       CASE WHEN g.n % 3 = 0 THEN 'service_request' ELSE 'complaint' END AS kind,
       date_trunc('year', now()) - interval '2 years'
         + (g.n * 7919 % 63072000) * interval '1 second' AS received_at) r0
  CROSS JOIN LATERAL (SELECT r0.kind, r0.received_at,
       extract(year FROM r0.received_at)::integer AS year) s
  JOIN seed_customers c ON c.n = (g.n * 4 / 5)
  JOIN LATERAL (SELECT id, code FROM categories ORDER BY code
                OFFSET (g.n % (SELECT count(*) FROM categories)) LIMIT 1) cat ON true
  LEFT JOIN number_counters nc
    ON nc.scope = (CASE s.kind WHEN 'complaint' THEN 'CT-' ELSE 'SR-' END) || s.year || '-{seq}'
"""

_COUNTERS = """
INSERT INTO number_counters (tenant_id, id, scope, value, created_at)
SELECT $1, gen_random_uuid(), substr(number, 1, 8) || '{seq}',
       max(substr(number, 9)::bigint), now()
  FROM seed_cases GROUP BY substr(number, 1, 8)
ON CONFLICT (tenant_id, scope) DO UPDATE SET value = excluded.value
"""


def _clone(
    columns: dict[str, list[str]],
    table: str,
    template: uuid.UUID,
    changes: dict[str, str],
    source: str,
    where: str = "true",
) -> str:
    """INSERT copies of the template row of `table` (`t`), one per row of `source` (which
    may join more tables, and refer to `t`), with the columns in `changes` given by SQL."""
    unknown = changes.keys() - set(columns[table])
    assert not unknown, f"{table} has no column {sorted(unknown)}"
    values = ", ".join(changes.get(name, f"t.{name}") for name in columns[table])
    return (
        f"INSERT INTO {table} SELECT {values} "  # noqa: S608 - names from the catalog
        f"FROM {table} t CROSS JOIN {source} WHERE t.id = '{template}' AND ({where})"
    )


def _statements(
    tpl: dict[str, uuid.UUID | list[uuid.UUID]], columns: dict[str, list[str]]
) -> list[str]:
    clocks: Sequence[uuid.UUID] = tpl["clocks"]  # type: ignore[assignment]
    clock_events: Sequence[uuid.UUID] = tpl["clock_events"]  # type: ignore[assignment]
    closed = "s.received_at + interval '6 days'"
    out = [
        _clone(
            columns,
            "customers",
            tpl["customer"],  # type: ignore[arg-type]
            {
                "id": "c.id",
                "name_enc": "c.name_enc",
                "email_enc": "c.email_enc",
                "email_hash": "c.email_hash",
                "phone_enc": "NULL",
                "phone_hash": "NULL",
                "nickname": "'seed' || c.n",
                "created_at": "now() - interval '3 years'",
            },
            "seed_customers c",
            "NOT EXISTS (SELECT 1 FROM customers x WHERE x.id = c.id)",
        ),
        _clone(
            columns,
            "cases",
            tpl["case"],  # type: ignore[arg-type]
            {
                "id": "s.id",
                "number": "s.number",
                "kind": "s.kind",
                "status": "s.status",
                "received_at": "s.received_at",
                "created_at": "s.received_at",
                "updated_at": closed,
                "closed_at": closed,
                "resolved_at": "s.received_at + interval '3 days'",
                "customer_id": "s.customer_id",
                "category_id": "s.category_id",
                "category_code": "s.category_code",
                "title": "d.title",
                "description": "d.description",
                "search": "d.search",
                "due_at": "NULL",
                "version": "7",
                "idempotency_key": "NULL",
            },
            "seed_cases s JOIN seed_docs d ON d.k = s.k",
        ),
        _clone(
            columns,
            "case_events",
            tpl["event"],  # type: ignore[arg-type]
            {
                "id": "gen_random_uuid()",
                "case_id": "s.id",
                "type": "e.type",
                "to_status": "e.type",
                "created_at": "s.received_at + e.after",
                "data": "jsonb_build_object('number', s.number, 'kind', s.kind)",
            },
            "seed_cases s CROSS JOIN (VALUES ('registered', interval '0'), "
            "('verified', interval '2 hours'), ('resolved', interval '3 days'), "
            "('closed', interval '6 days')) e(type, after)",
        ),
    ]
    out += [
        _clone(
            columns,
            "sla_clocks",
            clock,
            {
                "id": "gen_random_uuid()",
                "case_id": "s.id",
                "state": "'stopped'",
                "started_at": "s.received_at",
                "due_at": "s.received_at + interval '1 day'",
                "stopped_at": "s.received_at + interval '2 hours'",
                "next_check_at": "NULL",
                "created_at": "s.received_at",
            },
            "seed_cases s",
        )
        for clock in clocks
    ]
    out += [
        _clone(
            columns,
            "sla_clock_events",
            event,
            {
                "id": "gen_random_uuid()",
                "case_id": "s.id",
                "clock_id": "k.id",
                "type": "e.type",
                "at": "s.received_at + e.after",
                "created_at": "s.received_at + e.after",
            },
            "seed_cases s JOIN sla_clocks k ON k.case_id = s.id AND k.target = t.target "
            "CROSS JOIN (VALUES ('start', interval '0'), ('stop', interval '2 hours')) "
            "e(type, after)",
        )
        for event in clock_events
    ]
    out.append(
        _clone(
            columns,
            "notifications",
            tpl["notification"],  # type: ignore[arg-type]
            {
                "id": "gen_random_uuid()",
                "case_id": "s.id",
                "recipient_customer_id": "s.customer_id",
                "event": "e.event",
                "status": "'sent'",
                "attempts": "1",
                "last_error": "NULL",
                "sent_at": "s.received_at + e.after",
                "created_at": "s.received_at + e.after",
                "updated_at": "s.received_at + e.after",
            },
            f"seed_cases s CROSS JOIN (VALUES ('{ACKNOWLEDGEMENT}', interval '1 minute'), "
            f"('{PROGRESS_UPDATE}', interval '1 day'), ('{RESULT}', interval '3 days')) "
            "e(event, after)",
        )
    )
    return out


_AUDIT = """
INSERT INTO audit_entries (tenant_id, id, seq, at, actor, action, entity_type, entity_id,
                           before, after, prev_hash, hash, created_at)
SELECT $1, gen_random_uuid(), base.seq + 2 * (s.n - $2) + e.k, s.received_at, t.actor,
       t.action, t.entity_type, CASE e.k WHEN 1 THEN s.customer_id ELSE s.id END,
       NULL, t.after, sha256(s.id::text::bytea || e.k::text::bytea),
       sha256(s.id::text::bytea || (e.k + 1)::text::bytea), s.received_at
  FROM seed_cases s
  CROSS JOIN (VALUES (1, $3::uuid), (2, $4::uuid)) e(k, template)
  JOIN audit_entries t ON t.id = e.template
  CROSS JOIN (SELECT coalesce(max(seq), 0) AS seq FROM audit_entries) base
"""


async def templates(owner: asyncpg.Connection) -> dict[str, uuid.UUID | list[uuid.UUID]]:
    """The tenant's first case made by the app, and the rows it made along with it."""
    case = await owner.fetchrow(
        "SELECT id, customer_id FROM cases WHERE customer_id IS NOT NULL "
        "ORDER BY created_at LIMIT 1"
    )
    if case is None:
        raise SystemExit("the tenant has no case made by the app to copy")

    async def ids(sql: str, *args: object) -> list[uuid.UUID]:
        return [r[0] for r in await owner.fetch(sql, *args)]

    audit = await ids(
        "SELECT id FROM audit_entries WHERE entity_id IN ($1, $2) "
        "AND action IN ('customer.create', 'case.create') ORDER BY seq",
        case["customer_id"],
        case["id"],
    )
    return {
        "case": case["id"],
        "customer": case["customer_id"],
        "event": (await ids("SELECT id FROM case_events WHERE case_id = $1", case["id"]))[0],
        "clocks": await ids("SELECT id FROM sla_clocks WHERE case_id = $1", case["id"]),
        "clock_events": await ids(
            "SELECT DISTINCT ON (target) id FROM sla_clock_events WHERE case_id = $1 "
            "ORDER BY target, at",
            case["id"],
        ),
        "notification": (await ids("SELECT id FROM notifications WHERE case_id = $1", case["id"]))[
            0
        ],
        "audit_customer": audit[0],
        "audit_case": audit[-1],
    }


async def seed_history(
    owner_url: str,
    tenant_id: uuid.UUID,
    cipher: TenantCipher,
    texts: list[tuple[str, str]],
    *,
    start: int,
    count: int,
    progress: bool = True,
) -> None:
    """Seed cases `start` ... `start + count - 1` of the tenant's history."""
    owner = await asyncpg.connect(owner_url)
    try:
        await owner.execute("SELECT set_config('app.tenant_id', $1, false)", str(tenant_id))
        # The foreign-key checks of a bulk load planned for the tables as they are now,
        # not as they were when the plan was first cached.
        await owner.execute("SET plan_cache_mode = force_custom_plan")
        tpl = await templates(owner)
        if not await owner.fetchval("SELECT count(*) FROM seed_docs"):
            await owner.executemany(
                "INSERT INTO seed_docs VALUES ($1, $2, $3, array_to_tsvector($4::text[]))",
                [(k, t, d, document_tokens(t, d)) for k, (t, d) in enumerate(texts)],
            )
        names = await owner.fetch(
            "SELECT attrelid::regclass::text AS t, attname FROM pg_attribute WHERE attrelid = ANY("
            "ARRAY['customers', 'cases', 'case_events', 'sla_clocks', 'sla_clock_events', "
            "'notifications']::regclass[]) AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        )
        columns: dict[str, list[str]] = {}
        for row in names:
            columns.setdefault(row["t"], []).append(row["attname"])
        statements = _statements(tpl, columns)
        for first in range(start, start + count, BATCH):
            size = min(BATCH, start + count - first)
            async with owner.transaction():
                await owner.execute("DELETE FROM seed_customers; DELETE FROM seed_cases")
                await owner.copy_records_to_table(
                    "seed_customers", records=_customers(cipher, first, size)
                )
                await owner.execute(_CASES, first, size, len(texts))
                await owner.execute(_COUNTERS, tenant_id)
                for sql in statements:
                    await owner.execute(sql)
                await owner.execute(
                    _AUDIT, tenant_id, first, tpl["audit_customer"], tpl["audit_case"]
                )
            if progress:
                print(f"  seeded {first + size - start:,} of {count:,} cases", flush=True)
    finally:
        await owner.close()


def _customers(cipher: TenantCipher, first: int, size: int) -> list[tuple[object, ...]]:
    """The customers the batch's cases refer to (`n * 4 // 5`), encrypted as intake does."""
    low, high = first * 4 // 5, (first + size - 1) * 4 // 5
    out = []
    for n in range(low, high + 1):
        email = f"seed{n}@example.com"
        name = f"Seed Customer {n}"
        out.append(
            (
                n,
                uuid.UUID(int=(1 << 127) | n),
                cipher.encrypt(name),
                cipher.encrypt(email),
                cipher.blind_index("email", email),
            )
        )
    return out
