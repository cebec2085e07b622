"""Listing at scale: an agent's queue and a filtered search over 1,000,000 cases.

    .venv/bin/python bench/listing.py [--reuse] [--tenants 1000] [--cases-per-tenant 1000]
                                      [--samples 200] [--database-url URL] [--drop]

Seeding (skipped with `--reuse` when the database `closeloop_bench` already holds the
same seed): tenants are created through `TenantService.create` (defaults, calendar,
audit entry) with one agent each; then, per tenant, the OWNER role inserts 100
customers and the cases with `INSERT ... SELECT generate_series` in one transaction
that sets `app.tenant_id` (row-level security is forced on the owner too). Cases get a
spread of kind, status (by age: recent ones open, old ones closed or archived),
severity, category, channel, received time over a year and a due time by severity; their
text comes round-robin from a few hundred real complaints (Sina Heimao 2020 and CFPB
narratives, read from the shared data folder), and their `search` vector is the app's
own tokenizer output (`closeloop.cases.search.document_tokens`) of number, title,
description and customer nickname. The plain indexes of `cases` are dropped for the
load and recreated from their own definitions after it, then `VACUUM ANALYZE`.

Measured as the APPLICATION role over `--samples` random tenants (after a warm-up):

* queue: the tenant's open cases by due time, first page (50): `list_cases()` with
  the open statuses and `order="due"` (what the console's queues and
  `GET /api/v1/cases?order=due` run);
* open list: `GET /api/v1/cases?status=<open statuses>`, the app in-process;
* search: `list_cases()` with `q=<a Chinese word>` and the open statuses, and the same
  through `GET /api/v1/cases?q=...&status=...` (auth, masking and JSON included);
* the console's queue page `GET /console/queues/open` as the tenant's agent (cookie
  session, the list, the total, names, masking, the whole HTML page), in-process.

Printed: p50/p95/p99 of each, whether p95 < 20 ms, and EXPLAIN (ANALYZE, BUFFERS) of
the queue and search statements exactly as the app sends them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import _support
import asyncpg
import httpx
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.cases.listing import OPEN_STATUSES, CaseFilters, list_cases
from closeloop.cases.models import Case
from closeloop.cases.search import document_tokens
from closeloop.console.deps import provide_console_sessions
from closeloop.console.sessions import SESSION_COOKIE
from closeloop.db import create_engine, sessionmaker, tenant_scope
from closeloop.identity.models import User
from closeloop.identity.passwords import hash_password
from closeloop.identity.tokens import issue_session_token
from closeloop.provision import Provisioned
from closeloop.tenancy.service import TenantService

DATABASE = "closeloop_bench"
TARGET_P95_MS = 20.0
CONSOLE_PAGE = "console queue page (HTTP in-process)"
CASE_PAGE = "console case page (HTTP in-process)"
# The issue's bar for a whole console page (server time), above a query's.
TARGET_PAGE_P95_MS = 50.0
PAGE = 50
CUSTOMERS_PER_TENANT = 100
CHUNKS = 10  # each tenant's cases are loaded in this many rounds over all tenants
# Words an agent would look for; each occurs in some of the Heimao complaints.
WORDS = ("退款", "客服", "自动续费", "快递", "虚假宣传", "投诉")


# --- seeding ------------------------------------------------------------------------

_SEED_TABLES = """
CREATE TABLE bench_seed (tenants int NOT NULL, cases_per_tenant int NOT NULL,
                         documents int NOT NULL, seeded_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE bench_documents (n int PRIMARY KEY, title text NOT NULL, description text NOT NULL,
                              search tsvector NOT NULL);
CREATE TABLE bench_nicknames (n int PRIMARY KEY, nickname text NOT NULL, search tsvector NOT NULL);
"""

_CUSTOMERS = """
INSERT INTO customers (tenant_id, id, external_ref, nickname, created_at)
SELECT $1, gen_random_uuid(), 'C' || k, nk.nickname, now() - interval '400 days'
FROM generate_series(0, $2 - 1) AS k JOIN bench_nicknames nk ON nk.n = k
"""

# Cases $6 + 1 .. $6 + $2 of one tenant; $1 tenant, $3 offset into the documents,
# $4 documents, $5 customers per tenant.
_CASES = """
WITH cfg AS (
  SELECT (SELECT array_agg(id ORDER BY position, code) FROM categories) AS cat_ids,
         (SELECT array_agg(code ORDER BY position, code) FROM categories) AS cat_codes,
         (SELECT array_agg(id ORDER BY rank) FROM severities) AS sev_ids,
         (SELECT array_agg(code ORDER BY rank) FROM severities) AS sev_codes,
         (SELECT array_agg(id ORDER BY external_ref) FROM customers) AS cust_ids,
         (SELECT array_agg(external_ref ORDER BY external_ref) FROM customers) AS cust_refs,
         (SELECT id FROM users WHERE 'agent' = ANY (roles) LIMIT 1) AS agent_id
), g AS (
  SELECT n, now() - (random() * 365) * interval '1 day' AS received_at,
         random() AS r_status, random() AS r_open, random() AS r_sev, random() AS r_cat,
         random() AS r_kind, random() AS r_chan, random() AS r_due
  FROM generate_series($6 + 1, $6 + $2) AS n
), shaped AS (
  SELECT g.*,
    CASE WHEN received_at > now() - interval '7 days' THEN
           (ARRAY['registered','registered','verified','assigned','assigned','in_progress',
                  'in_progress','in_progress','waiting_customer','reopened']
           )[1 + floor(r_status * 10)::int]
         WHEN received_at > now() - interval '30 days' THEN
           (ARRAY['in_progress','assigned','waiting_customer','reopened','resolved','resolved',
                  'feedback_received','followup_scheduled','closed','closed']
           )[1 + floor(r_status * 10)::int]
         WHEN r_status < 0.08 THEN
           (ARRAY['in_progress','assigned','waiting_customer','reopened','registered']
           )[1 + floor(r_open * 5)::int]
         WHEN r_status < 0.13 THEN 'closed_invalid'
         WHEN r_status < 0.55 THEN 'archived'
         ELSE 'closed' END AS status,
    CASE WHEN r_sev < 0.80 THEN 1 WHEN r_sev < 0.95 THEN 2 ELSE 3 END AS sev,
    1 + floor(r_cat * r_cat * 9)::int AS cat,
    CASE WHEN r_kind < 0.60 THEN 'complaint' WHEN r_kind < 0.85 THEN 'service_request'
         WHEN r_kind < 0.95 THEN 'inquiry' ELSE 'suggestion' END AS kind
  FROM g
), numbered AS (
  SELECT s.*,
    CASE kind
      WHEN 'complaint' THEN 'CT-' || to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY')
                            || '-' || lpad(n::text, 5, '0')
      WHEN 'service_request' THEN 'SR-' || to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY')
                            || '-' || lpad(n::text, 5, '0')
      ELSE to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') || lpad(n::text, 4, '0')
    END AS number
  FROM shaped s
)
INSERT INTO cases (
  tenant_id, id, created_at, updated_at, number, kind, status, channel, received_at, title,
  description, customer_id, category_id, category_code, severity_id, severity_code,
  severity_rank, escalation_level, product, demands, extra, registrar_id, handler_id,
  collaborating_department_ids, handler_history, due_at, repeat_of, is_repeat, search,
  version, resolved_at, closed_at, archived_at)
SELECT
  $1, gen_random_uuid(), x.received_at, x.received_at + interval '1 day', x.number, x.kind,
  x.status, (ARRAY['phone','web','app','email','chat','social'])[1 + floor(x.r_chan * 6)::int],
  x.received_at, d.title, d.description, cfg.cust_ids[1 + x.n % $5], cfg.cat_ids[x.cat],
  cfg.cat_codes[x.cat], cfg.sev_ids[x.sev], cfg.sev_codes[x.sev], x.sev, 0,
  '{}'::jsonb,
  CASE WHEN x.r_chan < 0.5 THEN ARRAY['refund'] ELSE ARRAY['apology', 'compensation'] END,
  '{}'::jsonb, cfg.agent_id,
  CASE WHEN x.status IN ('registered', 'verified') THEN NULL ELSE cfg.agent_id END,
  '{}', '{}',
  x.received_at + (ARRAY[7, 3, 1])[x.sev] * (0.5 + x.r_due) * interval '1 day',
  '{}', false,
  d.search || nk.search
    || array_to_tsvector(ARRAY[lower(x.number)] || regexp_split_to_array(lower(x.number), '-')),
  1,
  CASE WHEN x.status IN ('resolved','feedback_received','followup_scheduled','closed','archived')
       THEN x.received_at + interval '2 days' END,
  CASE WHEN x.status IN ('closed','closed_invalid','archived')
       THEN x.received_at + interval '5 days' END,
  CASE WHEN x.status = 'archived' THEN x.received_at + interval '30 days' END
FROM numbered x CROSS JOIN cfg
JOIN bench_documents d ON d.n = (x.n + $3) % $4
JOIN bench_nicknames nk ON 'C' || nk.n = cfg.cust_refs[1 + x.n % $5]
"""


async def _seeded(owner_url: str, tenants: int, per_tenant: int) -> bool:
    conn = await asyncpg.connect(owner_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_seed') IS NOT NULL"):
            return False
        row = await conn.fetchrow("SELECT tenants, cases_per_tenant FROM bench_seed")
        return row is not None and tuple(row) == (tenants, per_tenant)
    finally:
        await conn.close()


async def _create_tenants(factory: async_sessionmaker[AsyncSession], count: int) -> None:
    password_hash = await hash_password(secrets.token_urlsafe(16))
    limit = asyncio.Semaphore(4)
    done = 0

    async def one(number: int) -> None:
        nonlocal done
        slug = f"bench-{number:04d}"
        async with limit, factory() as session, session.begin():
            tenant = await TenantService(session, actor="bench-seed").create(
                slug=slug, name=f"Bench tenant {number}", locale="zh-CN", timezone="Asia/Shanghai"
            )
            session.add(
                User(
                    tenant_id=tenant.id,
                    id=uuid.uuid4(),
                    email=f"agent@{slug}.example.com",
                    display_name="Agent",
                    password_hash=password_hash,
                    roles=["agent"],
                    permissions=[],
                    active=True,
                )
            )
        done += 1
        if done % 100 == 0:
            print(f"  {done} tenants", flush=True)

    await asyncio.gather(*(one(n) for n in range(count)))


async def _seed(urls: Provisioned, args: argparse.Namespace) -> None:
    begun = time.perf_counter()
    texts = _support.complaint_texts()
    owner = await asyncpg.connect(urls.owner_url)
    try:
        await owner.execute(_SEED_TABLES)
        await owner.executemany(
            "INSERT INTO bench_documents VALUES ($1, $2, $3, array_to_tsvector($4::text[]))",
            [(n, t, d, document_tokens(t, d)) for n, (t, d) in enumerate(texts)],
        )
        nicknames = [f"用户{k:03d}" for k in range(CUSTOMERS_PER_TENANT)]
        await owner.executemany(
            "INSERT INTO bench_nicknames VALUES ($1, $2, array_to_tsvector($3::text[]))",
            [(k, name, document_tokens(name)) for k, name in enumerate(nicknames)],
        )
    finally:
        await owner.close()
    print(f"seeding {args.tenants} tenants through TenantService.create ...", flush=True)
    engine = create_engine(urls.app_url, pool_size=4)
    try:
        await _create_tenants(sessionmaker(engine), args.tenants)
    finally:
        await engine.dispose()
    print(f"  done in {time.perf_counter() - begun:.0f} s", flush=True)
    await _load_cases(urls, args, len(texts))
    print(f"seeded in {time.perf_counter() - begun:.0f} s", flush=True)


async def _load_cases(urls: Provisioned, args: argparse.Namespace, documents: int) -> None:
    owner = await asyncpg.connect(urls.owner_url)
    try:
        # Plain indexes go for the load and come back from their own definitions.
        indexes = await owner.fetch(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = 'cases' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        )
        for row in indexes:
            await owner.execute(f'DROP INDEX "{row["indexname"]}"')
        tenant_ids = [
            r["id"] for r in await owner.fetch("SELECT id FROM tenants WHERE slug LIKE 'bench-%'")
        ]
    finally:
        await owner.close()

    total = len(tenant_ids) * args.cases_per_tenant
    print(f"loading {total:,} cases as the owner role ...", flush=True)
    begun = time.perf_counter()
    # In rounds, so one tenant's cases lie in several places of the table, as cases
    # arriving over time from many tenants would (one block per tenant is the best case).
    chunk = -(-args.cases_per_tenant // CHUNKS)
    queue: asyncio.Queue[tuple[int, int, uuid.UUID]] = asyncio.Queue()
    for start in range(0, args.cases_per_tenant, chunk):
        for number, tenant_id in enumerate(tenant_ids):
            queue.put_nowait((start, number, tenant_id))
    done = 0

    async def loader() -> None:
        nonlocal done
        conn = await asyncpg.connect(urls.owner_url)
        try:
            while not queue.empty():
                start, number, tenant_id = queue.get_nowait()
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.tenant_id', $1, true), setseed($2)",
                        str(tenant_id),
                        ((number * CHUNKS + start) % 10007) / 10007,
                    )
                    if start == 0:
                        await conn.execute(_CUSTOMERS, tenant_id, CUSTOMERS_PER_TENANT)
                    await conn.execute(
                        _CASES,
                        tenant_id,
                        min(chunk, args.cases_per_tenant - start),
                        number * 7,
                        documents,
                        CUSTOMERS_PER_TENANT,
                        start,
                    )
                done += 1
                if done % (10 * len(tenant_ids) // CHUNKS or 1) == 0:
                    rate = done * chunk / (time.perf_counter() - begun)
                    print(f"  {done * chunk:,} cases ({rate:,.0f} cases/s)", flush=True)
        finally:
            await conn.close()

    await asyncio.gather(*(loader() for _ in range(2)))
    owner = await asyncpg.connect(urls.owner_url)
    try:
        print("recreating the indexes of cases ...", flush=True)
        await owner.execute("SET maintenance_work_mem = '512MB'")
        for row in indexes:
            step = time.perf_counter()
            await owner.execute(row["indexdef"])
            print(f"  {row['indexname']}: {time.perf_counter() - step:.0f} s", flush=True)
        print("VACUUM ANALYZE ...", flush=True)
        for table in ("cases", "customers", "tenants", "users"):
            await owner.execute(f"VACUUM (ANALYZE) {table}")
        await owner.execute(
            "INSERT INTO bench_seed (tenants, cases_per_tenant, documents) VALUES ($1, $2, $3)",
            args.tenants,
            args.cases_per_tenant,
            documents,
        )
    finally:
        await owner.close()


async def _check_tokens(urls: Provisioned) -> None:
    """A few seeded cases against the app's own tokenizer, so the seed searches like intake."""
    owner = await asyncpg.connect(urls.owner_url)
    try:
        tenant_id = await owner.fetchval("SELECT id FROM tenants WHERE slug = 'bench-0000'")
        async with owner.transaction():
            await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
            rows = await owner.fetch(
                "SELECT c.number, c.title, c.description, cu.nickname, "
                "  tsvector_to_array(c.search) AS t "
                "FROM cases c JOIN customers cu "
                "  ON cu.tenant_id = c.tenant_id AND cu.id = c.customer_id "
                "ORDER BY c.number LIMIT 20"
            )
    finally:
        await owner.close()
    bad = [
        r["number"]
        for r in rows
        if sorted(r["t"])
        != document_tokens(r["number"], r["title"], r["description"], r["nickname"])
    ]
    if bad:
        raise SystemExit(f"seeded search vectors differ from the app's tokenizer: {bad[:5]}")
    print(f"search vectors of {len(rows)} sampled cases match the app's tokenizer", flush=True)


# --- measuring ----------------------------------------------------------------------


class Captured:
    """The last statement the engine sent, with its parameters (for EXPLAIN)."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.last: tuple[str, Any] | None = None
        event.listen(engine.sync_engine, "before_cursor_execute", self._hook)

    def _hook(self, conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if self.on and "FROM cases" in statement:
            self.last = (statement, parameters)


async def _timed(samples: list[Any], run: Callable[[Any, str], Awaitable[None]]) -> list[float]:
    out = []
    for number, sample in enumerate(samples):
        word = WORDS[number % len(WORDS)]
        begun = time.perf_counter()
        await run(sample, word)
        out.append(time.perf_counter() - begun)
    return out


async def _cpu(samples: list[Any], run: Callable[[Any, str], Awaitable[None]]) -> float:
    """This process' CPU time per call, in ms (the app's own work: routing, ORM, driver,
    templates; not PostgreSQL's): moves far less with the machine's load than the clock."""
    begun = time.process_time()
    for number, sample in enumerate(samples):
        await run(sample, WORDS[number % len(WORDS)])
    return 1000 * (time.process_time() - begun) / len(samples)


async def _profile(
    samples: list[Any], kinds: dict[str, Callable[[Any, str], Awaitable[None]]], name: str
) -> None:
    """`--profile NAME`: the named query's calls under cProfile, the top functions."""
    import cProfile
    import pstats

    chosen = [kind for kind in kinds if name in kind]
    if not chosen:
        raise SystemExit(f"--profile: no query named like {name!r}; one of {list(kinds)}")
    profiler = cProfile.Profile()
    profiler.enable()
    for number, sample in enumerate(samples):
        await kinds[chosen[0]](sample, WORDS[number % len(WORDS)])
    profiler.disable()
    print(f"\ncProfile of {chosen[0]!r}, {len(samples)} calls:")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


async def _measure(urls: Provisioned, args: argparse.Namespace, version: str) -> None:
    engine = create_engine(urls.app_url, pool_size=2)
    factory = sessionmaker(engine)
    captured = Captured(engine)
    try:
        async with engine.connect() as conn:
            tenants = (
                await conn.execute(
                    text("SELECT id, slug FROM tenants WHERE slug LIKE 'bench-%' ORDER BY slug")
                )
            ).all()
        rng = random.Random(20261125)  # noqa: S311 - a sample, not a secret
        chosen = rng.sample(list(tenants), min(args.samples, len(tenants)))
        warm = rng.sample(list(tenants), min(20, len(tenants)))
        users = {}
        open_cases = {}  # one open case per tenant, for the case page
        for tenant_id, _slug in {*chosen, *warm}:
            async with factory() as session, session.begin():
                await tenant_scope(session, tenant_id)
                users[tenant_id] = await session.scalar(
                    select(User.id).where(User.email.startswith("agent@"))
                )
                open_cases[tenant_id] = await session.scalar(
                    select(Case.id).where(Case.status.in_(OPEN_STATUSES)).limit(1)
                )

        async def queue(sample: Any, word: str) -> None:
            async with factory() as session, session.begin():
                await tenant_scope(session, sample[0])
                await list_cases(
                    session, CaseFilters(status=OPEN_STATUSES), limit=PAGE, order="due"
                )

        async def search(sample: Any, word: str) -> None:
            async with factory() as session, session.begin():
                await tenant_scope(session, sample[0])
                await list_cases(session, CaseFilters(status=OPEN_STATUSES, q=word), limit=PAGE)

        async def search_all(sample: Any, word: str) -> None:
            async with factory() as session, session.begin():
                await tenant_scope(session, sample[0])
                await list_cases(session, CaseFilters(q=word), limit=PAGE)

        with tempfile.TemporaryDirectory(prefix="closeloop-bench-") as folder:
            settings = _support.app_settings(
                urls, Path(folder), operator_token=secrets.token_urlsafe(32)
            )
            from closeloop.web.app import create_app

            app = create_app(settings)
            status = ",".join(OPEN_STATUSES)
            tokens = {
                tid: issue_session_token(
                    secret=settings.secret_key, tenant_id=tid, user_id=uid, ttl_seconds=3600
                )[0]
                for tid, uid in users.items()
            }
            cookies = {}
            for tid, uid in users.items():
                async with factory() as session, session.begin():
                    sessions = provide_console_sessions(session, settings)
                    cookies[tid] = await sessions.open(tenant_id=tid, user_id=uid)
            async with (
                app.lifespan(),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench"
                ) as client,
            ):

                async def http_get(sample: Any, params: dict[str, Any]) -> None:
                    response = await client.get(
                        "/api/v1/cases",
                        params=params,
                        headers={"Authorization": f"Bearer {tokens[sample[0]]}"},
                    )
                    if response.status_code != 200:
                        raise SystemExit(
                            f"GET /api/v1/cases: {response.status_code} {response.text}"
                        )

                async def http_open(sample: Any, word: str) -> None:
                    await http_get(sample, {"status": status, "limit": PAGE})

                async def http_search(sample: Any, word: str) -> None:
                    await http_get(sample, {"status": status, "q": word, "limit": PAGE})

                async def console_queue(sample: Any, word: str) -> None:
                    response = await client.get(
                        "/console/queues/open", cookies={SESSION_COOKIE: cookies[sample[0]]}
                    )
                    if response.status_code != 200:
                        raise SystemExit(
                            f"GET /console/queues/open: {response.status_code} {response.text}"
                        )

                async def console_case(sample: Any, word: str) -> None:
                    path = f"/console/cases/{open_cases[sample[0]]}"
                    response = await client.get(path, cookies={SESSION_COOKIE: cookies[sample[0]]})
                    if response.status_code != 200:
                        raise SystemExit(f"GET {path}: {response.status_code} {response.text}")

                kinds: list[tuple[str, Callable[[Any, str], Awaitable[None]]]] = [
                    ("queue: open by due (list_cases)", queue),
                    ("search: q + status (list_cases)", search),
                    ("search: q alone (list_cases)", search_all),
                    ("GET open cases (HTTP in-process)", http_open),
                    ("GET q + status (HTTP in-process)", http_search),
                    (CONSOLE_PAGE, console_queue),
                    (CASE_PAGE, console_case),
                ]
                for _name, run in kinds:
                    await _timed(warm, run)
                results = {name: await _timed(chosen, run) for name, run in kinds}
                cpu = {name: await _cpu(chosen[:50], run) for name, run in kinds}
                if args.profile:
                    await _profile(chosen[:50], dict(kinds), args.profile)

        print()
        async with engine.connect() as conn:
            size = (
                await conn.execute(text("SELECT pg_size_pretty(pg_total_relation_size('cases'))"))
            ).scalar_one()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"PostgreSQL {version}; {os.cpu_count()} CPUs, load average {load}; "
            f"{len(tenants)} tenants; {args.cases_per_tenant} cases each "
            f"(table cases with its indexes and TOAST: {size}); "
            f"{len(chosen)} random tenants per query, one after another"
        )
        print(f"{'query':<38}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'CPU ms':>9}  p95 target")
        for name, values in results.items():
            ordered = sorted(values)
            p50, p95, p99 = (1000 * _support.percentile(ordered, q) for q in (50, 95, 99))
            target = TARGET_PAGE_P95_MS if name in (CONSOLE_PAGE, CASE_PAGE) else TARGET_P95_MS
            verdict = f"< {target:.0f} ms {'met' if p95 < target else 'NOT met'}"
            print(f"{name:<38}{p50:>9.2f}{p95:>9.2f}{p99:>9.2f}{cpu[name]:>9.2f}  {verdict}")

        sample = chosen[0]
        for title, run in (("queue", queue), ("search", search)):
            captured.on = True
            await run(sample, WORDS[0])
            captured.on = False
            assert captured.last is not None
            statement, parameters = captured.last
            print()
            print(f"EXPLAIN (ANALYZE, BUFFERS) of the {title} statement (tenant {sample[1]}):")
            print(f"  {statement}")
            print(f"  parameters: {parameters}")
            await _support.explain(factory, sample[0], statement, parameters)
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    async def seeded(urls: Provisioned) -> bool:
        return await _seeded(urls.owner_url, args.tenants, args.cases_per_tenant)

    async def measure(urls: Provisioned, version: str) -> None:
        await _check_tokens(urls)
        await _measure(urls, args, version)

    await _support.run_seeded(
        args.database_url,
        args.database_name,
        reuse=args.reuse,
        drop=args.drop,
        seeded=seeded,
        seed=lambda urls: _seed(urls, args),
        measure=measure,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--cases-per-tenant", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200, help="random tenants per query")
    parser.add_argument("--database-url", help="superuser URL of a server (default DATABASE_URL)")
    parser.add_argument("--database-name", default=DATABASE)
    parser.add_argument(
        "--profile", metavar="NAME", help="profile the query whose name contains NAME (cProfile)"
    )
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded the same way")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
