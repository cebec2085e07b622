"""SLA scheduling at scale: find and act on the clocks that became due among many open cases.

    .venv/bin/python bench/sla.py [--tenants 1000] [--cases-per-tenant 1000] [--small 100]
                                  [--due 1000] [--concurrency 8] [--processes 1]
                                  [--database-url URL] [--keep]

A fresh database (`closeloop_bench_sla`) is provisioned and migrated. `--tenants` tenants
are created through `TenantService.create` (defaults: severities, calendar, the SLA
policies and their ladders), each with a handler, a supervisor and a department the
supervisor manages. Then, in three rounds:

1. `--small` open cases per tenant (100,000 by default), each with a running
   resolution clock whose next check lies days ahead, loaded as the OWNER role with
   `INSERT ... SELECT generate_series` in one transaction per tenant that sets
   `app.tenant_id` (row-level security is forced on the owner too);
2. the same tenants grown to `--cases-per-tenant` open cases (1,000,000 by default);
3. the same 1,000,000 with twice the due clocks.

Round 1 runs twice: first "cold" (the process builds every tenant's calendar and
compiles the notification templates on first use), then measured. Before each
measurement `--due` clocks (one per tenant, spread over all of them; twice as
many in round 3) are made due: their resolution was due a minute ago, after 15 days.
Measured, as the APPLICATION role:

* **find**: `closeloop_sla_claim(n, now(), lease)`, the sweep's cross-tenant claim,
  for all due clocks, in a transaction rolled back afterwards (median of 5);
* **find and act**: `closeloop.sla.sweep.sweep_due()`, what the `sweep_due_clocks`
  actor runs: claim, then per clock in its own tenant's transaction the breach (clock
  and timeline events), the ladder levels reached (the default policy's 80 % warning
  to the handler; at the breach the handler and the department manager notified,
  the case flagged: notification records, outbox jobs, timeline, audit entries).

`--processes N` runs the sweep in N processes at once, as N workers running the actor
would (each process builds every tenant's calendar before the first round); they
share the due clocks through the claim's `SKIP LOCKED`.

Printed: per round the open and due clock counts, both timings, the time per due
clock, what the sweep did, and EXPLAIN (ANALYZE, BUFFERS) of the claim's query run as
the owner inside the function's gate, which shows the index scan on `next_check_at`
reading the due rows only. Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import statistics
import time
import uuid
from typing import Any

import _support
import asyncpg

from closeloop.config.models import Department
from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.identity.models import User
from closeloop.identity.passwords import hash_password
from closeloop.provision import Provisioned
from closeloop.sla.calendar_service import load
from closeloop.sla.sweep import SweepReport, sweep_due
from closeloop.tenancy.service import TenantService

DATABASE = "closeloop_bench_sla"
LEASE_SECONDS = 120
BATCH = 100  # clocks per claim: several sweeping processes take turns

# Open cases $3 + 1 .. $3 + $2 of tenant $1, assigned to its handler, each with a running
# resolution clock (10 working days, next check at 80 %, days ahead).
_CASES = """
WITH cfg AS (
  SELECT (SELECT id FROM sla_policies WHERE is_default) AS policy_id,
         (SELECT targets -> 'resolution' FROM sla_policies WHERE is_default) AS spec,
         (SELECT id FROM severities ORDER BY rank LIMIT 1) AS sev_id,
         (SELECT code FROM severities ORDER BY rank LIMIT 1) AS sev_code,
         (SELECT rank FROM severities ORDER BY rank LIMIT 1) AS sev_rank,
         (SELECT id FROM users WHERE 'handler' = ANY (roles) LIMIT 1) AS handler_id,
         (SELECT id FROM departments WHERE code = 'after-sales') AS department_id
), g AS (
  SELECT n, now() - random() * interval '2 days' AS received_at
    FROM generate_series($3 + 1, $3 + $2) n
), made AS (
  INSERT INTO cases (
    tenant_id, id, created_at, updated_at, number, kind, status, channel, received_at, title,
    description, severity_id, severity_code, severity_rank, escalation_level, product,
    demands, extra, handler_id, lead_department_id, collaborating_department_ids,
    handler_history, due_at, repeat_of, is_repeat, search, version)
  SELECT $1, gen_random_uuid(), g.received_at, g.received_at, 'B-' || lpad(g.n::text, 7, '0'),
         'complaint', 'in_progress', 'phone', g.received_at, '快递延误 parcel late',
         '订单承诺三天送达,实际一周后才到。', cfg.sev_id, cfg.sev_code, cfg.sev_rank, 0,
         '{}'::jsonb, '{}', '{}'::jsonb, cfg.handler_id, cfg.department_id, '{}',
         ARRAY[cfg.handler_id], g.received_at + interval '14 days', '{}', false,
         to_tsvector('simple', 'parcel late'), 1
    FROM g CROSS JOIN cfg
  RETURNING tenant_id, id, received_at
)
INSERT INTO sla_clocks (
  tenant_id, id, case_id, cycle, target, policy_id, unit, spec, state, period, started_at,
  due_at, span_seconds, paused_seconds, next_check_at, fired)
SELECT made.tenant_id, gen_random_uuid(), made.id, 1, 'resolution', cfg.policy_id,
       'working_days', cfg.spec, 'running', 1, made.received_at,
       made.received_at + interval '14 days', 75 * 3600, 0,
       made.received_at + interval '11 days', '{}'
  FROM made CROSS JOIN cfg
"""

# Make $2 running, not yet due clocks of tenant $1 due: resolution due a minute ago.
_MAKE_DUE = """
UPDATE sla_clocks s SET started_at = now() - interval '15 days',
       due_at = now() - interval '1 minute', next_check_at = now() - interval '1 minute'
 WHERE (s.tenant_id, s.id) IN (
   SELECT tenant_id, id FROM sla_clocks
    WHERE tenant_id = $1 AND state = 'running' AND breached_at IS NULL
      AND next_check_at > now()
    LIMIT $2)
"""

_EXPLAIN = """
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)
SELECT c.tenant_id, c.id FROM sla_clocks c
 WHERE c.next_check_at <= now() ORDER BY c.next_check_at LIMIT {limit}
   FOR UPDATE OF c SKIP LOCKED
"""


async def _create_tenants(urls: Provisioned, count: int) -> list[uuid.UUID]:
    engine = create_engine(urls.app_url, pool_size=4)
    factory = sessionmaker(engine)
    password_hash = await hash_password(secrets.token_urlsafe(16))
    limit = asyncio.Semaphore(4)
    made: list[uuid.UUID] = []

    async def one(number: int) -> None:
        slug = f"bench-{number:04d}"
        async with limit, factory() as session, session.begin():
            tenant = await TenantService(session, actor="bench-seed").create(
                slug=slug, name=f"Bench tenant {number}", locale="zh-CN", timezone="Asia/Shanghai"
            )
            users = [
                User(
                    tenant_id=tenant.id,
                    id=uuid.uuid4(),
                    email=f"{role}@{slug}.example.com",
                    display_name=role,
                    password_hash=password_hash,
                    roles=[role],
                    permissions=[],
                    active=True,
                )
                for role in ("handler", "supervisor")
            ]
            session.add_all(users)
            await session.flush()
            session.add(
                Department(
                    tenant_id=tenant.id,
                    id=uuid.uuid4(),
                    code="after-sales",
                    name_zh="售后部",
                    name_en="After-sales",
                    manager_id=users[1].id,
                    active=True,
                    position=0,
                )
            )
        made.append(tenant.id)
        if len(made) % 100 == 0:
            print(f"  {len(made)} tenants", flush=True)

    try:
        await asyncio.gather(*(one(n) for n in range(count)))
    finally:
        await engine.dispose()
    return made


async def _load(urls: Provisioned, tenant_ids: list[uuid.UUID], start: int, count: int) -> None:
    """Cases start+1 .. start+count of every tenant, with their clocks, as the owner."""
    begun = time.perf_counter()
    queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
    for tenant_id in tenant_ids:
        queue.put_nowait(tenant_id)

    async def loader() -> None:
        conn = await asyncpg.connect(urls.owner_url)
        try:
            while not queue.empty():
                tenant_id = queue.get_nowait()
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.tenant_id', $1, true)", str(tenant_id)
                    )
                    await conn.execute(_CASES, tenant_id, count, start)
        finally:
            await conn.close()

    await asyncio.gather(*(loader() for _ in range(4)))
    owner = await asyncpg.connect(urls.owner_url)
    try:
        for table in ("cases", "sla_clocks"):
            await owner.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await owner.close()
    total = len(tenant_ids) * count
    print(
        f"  loaded {total:,} open cases with their clocks in {time.perf_counter() - begun:.0f} s",
        flush=True,
    )


async def _make_due(urls: Provisioned, tenant_ids: list[uuid.UUID], due: int) -> None:
    per_tenant, extra = divmod(due, len(tenant_ids))
    conn = await asyncpg.connect(urls.owner_url)
    try:
        for index, tenant_id in enumerate(tenant_ids):
            wanted = per_tenant + (1 if index < extra else 0)
            if not wanted:
                continue
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
                await conn.execute(_MAKE_DUE, tenant_id, wanted)
        await conn.execute("ANALYZE sla_clocks")
    finally:
        await conn.close()


async def _counts(urls: Provisioned) -> dict[str, int]:
    """Clock and case figures of every tenant, read as the owner inside the sweep's gate."""
    conn = await asyncpg.connect(urls.owner_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('closeloop.sla_sweep', 'on', true)")
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE state IN ('running', 'breached')) AS running, "
                "count(*) FILTER (WHERE next_check_at <= now()) AS due, "
                "count(*) FILTER (WHERE breached_at IS NOT NULL) AS breached FROM sla_clocks"
            )
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


async def _explain(urls: Provisioned, limit: int) -> str:
    conn = await asyncpg.connect(urls.owner_url)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            await conn.execute("SELECT set_config('closeloop.sla_sweep', 'on', true)")
            rows = await conn.fetch(_EXPLAIN.format(limit=int(limit)))
        finally:
            await tx.rollback()
        return "\n".join("    " + r[0] for r in rows)
    finally:
        await conn.close()


async def _find(urls: Provisioned, due: int) -> tuple[float, int]:
    """Median ms of claiming every due clock (rolled back), and how many were claimed."""
    conn = await asyncpg.connect(urls.app_url)
    timings, claimed = [], 0
    try:
        for _ in range(5):
            tx = conn.transaction()
            await tx.start()
            begun = time.perf_counter()
            rows = await conn.fetch(
                "SELECT * FROM closeloop_sla_claim($1, now(), $2)", due + 100, LEASE_SECONDS
            )
            timings.append((time.perf_counter() - begun) * 1000)
            claimed = len(rows)
            await tx.rollback()
    finally:
        await conn.close()
    return statistics.median(timings), claimed


async def _round(
    urls: Provisioned,
    tenant_ids: list[uuid.UUID],
    due: int,
    args: argparse.Namespace,
    pool: Any = None,
) -> dict[str, Any]:
    await _make_due(urls, tenant_ids, due)
    before = await _counts(urls)
    plan = await _explain(urls, due + 100)
    find_ms, claimed = await _find(urls, due)
    if pool is None:
        engine = create_engine(urls.app_url, pool_size=args.concurrency + 2)
        try:
            report = await sweep_due(
                sessionmaker(engine),
                batch_size=BATCH,
                concurrency=args.concurrency,
                budget_seconds=3600,
            )
        finally:
            await engine.dispose()
    else:
        begun = time.perf_counter()
        jobs = [
            pool.apply_async(_sweep_in_process, (urls.app_url, args.concurrency))
            for _ in range(args.processes)
        ]
        parts = await asyncio.to_thread(lambda: [job.get() for job in jobs])
        report = SweepReport(
            *(sum(part[i] for part in parts) for i in range(4)),  # type: ignore[arg-type]
            seconds=time.perf_counter() - begun,
        )
    after = await _counts(urls)
    return {
        "running": before["running"],
        "due": before["due"],
        "find_ms": find_ms,
        "claimed_in_find": claimed,
        "sweep_s": report.seconds,
        "per_clock_ms": report.seconds * 1000 / max(1, report.claimed),
        "report": report,
        "left_due": after["due"],
        "plan": plan,
    }


# --- several sweeping processes (as several workers would run the actor) ----------


def _warm(app_url: str, tenant_ids: list[str]) -> None:
    """Pool initializer: build every tenant's calendar once in this process."""

    async def warm() -> None:
        engine = create_engine(app_url, pool_size=2)
        try:
            for tenant_id in tenant_ids:
                async with transaction(sessionmaker(engine), uuid.UUID(tenant_id)) as session:
                    await load(session)
        finally:
            await engine.dispose()

    asyncio.run(warm())


def _sweep_in_process(app_url: str, concurrency: int) -> tuple[int, int, int, int]:
    async def sweep() -> SweepReport:
        engine = create_engine(app_url, pool_size=concurrency + 2)
        try:
            return await sweep_due(
                sessionmaker(engine), batch_size=BATCH, concurrency=concurrency, budget_seconds=3600
            )
        finally:
            await engine.dispose()

    report = asyncio.run(sweep())
    return report.claimed, report.breached, report.fired, report.failed


def _print(label: str, result: dict[str, Any]) -> None:
    report = result["report"]
    print(f"\n== {label}")
    print(f"  running clocks (open cases): {result['running']:,}; due: {result['due']:,}")
    print(f"  find (claim all due, rolled back): {result['find_ms']:.1f} ms median "
          f"({result['claimed_in_find']:,} claimed)")  # fmt: skip
    print(f"  find and act (sweep_due): {result['sweep_s']:.2f} s, "
          f"{result['per_clock_ms']:.2f} ms per due clock; claimed {report.claimed:,}, "
          f"breached {report.breached:,}, levels fired {report.fired:,}, failed {report.failed}; "
          f"due afterwards: {result['left_due']}")  # fmt: skip
    print("  EXPLAIN (ANALYZE, BUFFERS) of the claim's query:")
    print(result["plan"])


async def _main(args: argparse.Namespace) -> None:
    with _support.superuser_url(args.database_url) as superuser:
        print(f"PostgreSQL {await _support.server_version(superuser)}", flush=True)
        urls = await _support.prepare_database(superuser, DATABASE, fresh=True)
        try:
            print(f"creating {args.tenants} tenants through TenantService.create ...", flush=True)
            begun = time.perf_counter()
            tenant_ids = await _create_tenants(urls, args.tenants)
            print(f"  done in {time.perf_counter() - begun:.0f} s", flush=True)

            pool = None
            if args.processes > 1:
                print(f"starting {args.processes} sweeping processes ...", flush=True)
                pool = multiprocessing.get_context("spawn").Pool(
                    args.processes,
                    initializer=_warm,
                    initargs=(urls.app_url, [str(t) for t in tenant_ids]),
                )
            print(f"loading {args.small} open cases per tenant ...", flush=True)
            await _load(urls, tenant_ids, 0, args.small)
            # The first sweep of a process also builds every tenant's calendar (public
            # holidays) and compiles the templates: shown, but not compared.
            cold = await _round(urls, tenant_ids, args.due, args, pool)
            _print(f"{args.tenants * args.small:,} open cases, {args.due:,} due (cold)", cold)
            small = await _round(urls, tenant_ids, args.due, args, pool)
            _print(f"{args.tenants * args.small:,} open cases, {args.due:,} due", small)

            print(f"\ngrowing to {args.cases_per_tenant} open cases per tenant ...", flush=True)
            await _load(urls, tenant_ids, args.small, args.cases_per_tenant - args.small)
            large = await _round(urls, tenant_ids, args.due, args, pool)
            _print(f"{args.tenants * args.cases_per_tenant:,} open cases, {args.due:,} due", large)
            double = await _round(urls, tenant_ids, 2 * args.due, args, pool)
            _print(
                f"{args.tenants * args.cases_per_tenant:,} open cases, {2 * args.due:,} due",
                double,
            )

            print("\n== summary (find = claim only; act = sweep_due, claim included)")
            print("  open clocks   due    find ms   find+act s   ms per due clock")
            for result in (cold, small, large, double):
                print(
                    f"  {result['running']:>11,} {result['due']:>5,} {result['find_ms']:>9.1f}"
                    f" {result['sweep_s']:>11.2f} {result['per_clock_ms']:>15.2f}"
                )
            growth_open = large["running"] / max(1, small["running"])
            print(
                f"  open clocks x{growth_open:.1f} at the same due count: find x"
                f"{large['find_ms'] / max(small['find_ms'], 1e-9):.2f}, act x"
                f"{large['sweep_s'] / max(small['sweep_s'], 1e-9):.2f}; due x2: act x"
                f"{double['sweep_s'] / max(large['sweep_s'], 1e-9):.2f}"
            )
            if pool is not None:
                pool.close()
                pool.join()
        finally:
            if not args.keep:
                await _support.drop_database(superuser, DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--cases-per-tenant", type=int, default=1000)
    parser.add_argument("--small", type=int, default=100, help="open cases per tenant, round 1")
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8, help="clocks checked at once")
    parser.add_argument(
        "--processes", type=int, default=1, help="sweeping processes sharing the due clocks"
    )
    parser.add_argument("--database-url", help="a superuser URL (default: DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.small >= args.cases_per_tenant:
        parser.error("--small must be below --cases-per-tenant")
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
