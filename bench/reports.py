"""Reports at scale: one tenant's monthly summary and a 12-month trend over 1,000,000 cases.

    .venv/bin/python bench/reports.py [--reuse] [--tenants 40] [--cases-per-tenant 20000]
                                      [--big 200000] [--samples 10] [--database-url URL]
                                      [--drop]

Seeding (skipped with `--reuse` when the database `closeloop_bench_reports` already
holds the same seed): tenants through `TenantService.create` (defaults, calendar, SLA
policies), one of them the big one (`--big` cases, default 200,000), the others
`--cases-per-tenant` each (default 40 × 20,000: 1,000,000 in all). Then, as the OWNER
role with `app.tenant_id` set (row-level security is forced on the owner too), in
rounds of 10,000 cases, one `INSERT ... SELECT generate_series` statement per round
writes the cases, their SLA clocks (first response, resolution and, where a follow-up
is due, the follow-up clock: met, breached, or still running past due) and their
`case_facts` row, from the same random draws, so the facts agree with the cases and
clocks. A realistic lifecycle: received over the last 13 months; first response after
0.2–30 h; 92 % resolved after 1–400 h (log-uniform), 80 % of those closed; 6 %
reopened; 45 % answered the survey (satisfied / basically / unsatisfied 55/30/15);
70 % get a follow-up, 85 % of them done; responsible parties internal / customer /
third party 50/20/30; 12 % escalated; cases past 30 days unresolved made major; 7 %
repeats; 20 handlers and 5 departments per tenant. `report_daily` is then filled from
`case_facts` with the measures of `closeloop.reports.rollup.MEASURES` (the same rule
`rebuild_days` applies, in SQL; checked equal to `rebuild_days` on a small seed). The
seed writes no timeline events, so `closeloop reports rebuild` on it would derive other
facts from the missing timeline: do not rebuild a seeded database. Plain indexes go for
the load and come back from their own definitions; then `VACUUM ANALYZE`.

Measured as the APPLICATION role through `ReportService.summary` (what the API, the
console, the CLI and the e-mails call), the system's view of the whole tenant:

* monthly: the last whole month with every metric (and its previous month);
* trend: the last 12 whole months with `group_by=month`;
* both on `--samples` random ordinary tenants and on the big tenant.

Printed: the load average before and after; p50/max of each against the targets
(300 ms, 1 s); the p50 of the CPU time the server processes of the benchmark's pool
(the summary's session and its two lanes, `closeloop.reports.lanes`) spent on one
summary, and of the busiest of them (read from /proc when the server runs on this
machine: what the server would take on a quiet machine, the figures to compare across
sittings on a shared one); and EXPLAIN
(ANALYZE, BUFFERS), with the report's transaction settings, of the statements that took
longest in one big-tenant monthly summary and in one big-tenant trend.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
import zoneinfo
from pathlib import Path
from typing import Any

import _support
import asyncpg
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from closeloop.db import create_engine, sessionmaker, tenant_scope
from closeloop.provision import Provisioned
from closeloop.reports.engine import report_settings
from closeloop.reports.schemas import ReportQuery
from closeloop.reports.service import ReportService
from closeloop.settings import Settings
from closeloop.tenancy.service import TenantService

DATABASE = "closeloop_bench_reports"
TARGET_MONTH_MS = 300.0
TARGET_TREND_MS = 1000.0
ROUND = 10_000
HANDLERS = 20
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
BIG = "bench-r-big"
LOADED_TABLES = ("cases", "case_facts", "sla_clocks")

_SEED_TABLE = """
CREATE TABLE IF NOT EXISTS bench_reports_seed (
  tenants int NOT NULL, cases_per_tenant int NOT NULL, big int NOT NULL,
  seeded_at timestamptz NOT NULL DEFAULT now())
"""

_HANDLERS = """
INSERT INTO users (tenant_id, id, email, display_name, password_hash, roles, permissions,
                   department_id, active)
SELECT $1, gen_random_uuid(), 'handler' || k || '@' || $2 || '.example.com', '处理人' || k,
       'not-a-password', ARRAY['handler'], '{}',
       (SELECT id FROM departments ORDER BY code OFFSET k % 5 LIMIT 1), true
FROM generate_series(1, $3) AS k
"""

# Cases $3 + 1 .. $3 + $2 of tenant $1, with their clocks and facts, from one set of draws.
_ROUND = """
WITH cfg AS (
  SELECT (SELECT array_agg(id ORDER BY position, code) FROM categories) AS cat_ids,
         (SELECT array_agg(code ORDER BY position, code) FROM categories) AS cat_codes,
         (SELECT array_agg(id ORDER BY rank) FROM severities) AS sev_ids,
         (SELECT array_agg(code ORDER BY rank) FROM severities) AS sev_codes,
         (SELECT array_agg(id ORDER BY code) FROM departments) AS dept_ids,
         (SELECT array_agg(id ORDER BY email) FROM users WHERE 'handler' = ANY (roles))
           AS handler_ids
), g AS (
  SELECT n, gen_random_uuid() AS id,
         now() - (random() * 395) * interval '1 day' AS received_at,
         random() AS r_kind, random() AS r_chan, random() AS r_cat, random() AS r_sev,
         random() AS r_dept, random() AS r_hand, random() AS r_fr, random() AS r_res,
         random() AS r_res_h, random() AS r_close, random() AS r_reopen, random() AS r_sat,
         random() AS r_sat_code, random() AS r_fu, random() AS r_fu_done, random() AS r_party,
         random() AS r_esc, random() AS r_rep, random() AS r_contacts, random() AS r_prod
  FROM generate_series($3 + 1, $3 + $2) AS n
), t AS (
  SELECT g.*,
    received_at + (0.2 + r_fr * 30) * interval '1 hour' AS fr_at,
    CASE WHEN r_res < 0.92
         THEN received_at + exp(r_res_h * ln(400.0)) * interval '1 hour' END AS res_at
  FROM g
), f AS (
  SELECT t.*,
    CASE WHEN fr_at < now() THEN fr_at END AS first_response_at,
    CASE WHEN res_at < now() THEN res_at END AS first_resolved_at
  FROM t
), h AS (
  SELECT f.*,
    CASE WHEN first_resolved_at IS NOT NULL AND r_close < 0.8
              AND first_resolved_at + (3 + r_close * 6) * interval '1 day' < now()
         THEN first_resolved_at + (3 + r_close * 6) * interval '1 day' END AS closed_at,
    first_resolved_at IS NOT NULL AND r_reopen < 0.06 AS reopened,
    CASE WHEN first_resolved_at IS NOT NULL AND r_sat < 0.45
              AND first_resolved_at + interval '1 day' < now()
         THEN first_resolved_at + interval '1 day' END AS satisfaction_at,
    CASE WHEN first_resolved_at IS NOT NULL AND r_fu < 0.7
         THEN first_resolved_at + interval '7 days' END AS followup_due_by,
    CASE WHEN r_kind < 0.60 THEN 'complaint' WHEN r_kind < 0.85 THEN 'service_request'
         WHEN r_kind < 0.95 THEN 'inquiry' ELSE 'suggestion' END AS kind,
    (ARRAY['phone','web','app','email','chat','social'])[1 + floor(r_chan * 6)::int] AS channel,
    1 + floor(r_cat * r_cat * 9)::int AS cat,
    CASE WHEN r_sev < 0.80 THEN 1 WHEN r_sev < 0.95 THEN 2 ELSE 3 END AS sev,
    1 + floor(r_dept * 5)::int AS dept,
    1 + floor(r_hand * $4)::int AS hand
  FROM f
), x AS (
  SELECT h.*, cfg.*,
    CASE WHEN closed_at IS NOT NULL THEN 'closed'
         WHEN reopened AND first_resolved_at + interval '2 days' < now() THEN 'reopened'
         WHEN first_resolved_at IS NOT NULL THEN 'resolved'
         WHEN first_response_at IS NOT NULL THEN 'in_progress'
         ELSE 'registered' END AS status,
    CASE WHEN followup_due_by IS NOT NULL AND r_fu_done < 0.85
              AND first_resolved_at + (3 + r_fu_done * 6) * interval '1 day' < now()
         THEN first_resolved_at + (3 + r_fu_done * 6) * interval '1 day' END AS followup_done_at,
    CASE WHEN first_resolved_at IS NULL AND received_at + interval '30 days' < now()
         THEN received_at + interval '30 days'
         WHEN first_resolved_at > received_at + interval '30 days'
         THEN received_at + interval '30 days' END AS made_major_at
  FROM h CROSS JOIN cfg
), new_cases AS (
  INSERT INTO cases (
    tenant_id, id, created_at, updated_at, number, kind, status, channel, received_at, title,
    description, category_id, category_code, severity_id, severity_code, severity_rank,
    escalation_level, product, demands, extra, lead_department_id,
    collaborating_department_ids, handler_id, handler_history, repeat_of, is_repeat, search,
    version, resolved_at, closed_at, first_satisfaction, followup_outcome, resolution)
  SELECT $1, id, received_at, received_at, 'R-' || lpad(n::text, 7, '0'), kind, status,
    channel, received_at, '快递延误' || n, '包裹晚到一周。', cat_ids[cat], cat_codes[cat],
    sev_ids[sev], sev_codes[sev], sev, 0, jsonb_build_object('name',
    (ARRAY['电水壶','快递服务','会员服务','手机','耳机'])[1 + floor(r_prod * r_prod * 5)::int]),
    '{}', '{}', dept_ids[dept], '{}', handler_ids[hand], ARRAY[handler_ids[hand]], '{}',
    r_rep < 0.07, to_tsvector('simple', 'r' || n), 1, first_resolved_at, closed_at, NULL, NULL,
    CASE WHEN first_resolved_at IS NOT NULL THEN jsonb_build_object('responsible_party',
      CASE WHEN r_party < 0.5 THEN 'internal' WHEN r_party < 0.7 THEN 'customer'
           ELSE 'third_party' END) END
  FROM x
  RETURNING 1
), clocks AS (
  INSERT INTO sla_clocks (
    tenant_id, id, case_id, cycle, target, unit, spec, state, period, started_at, due_at,
    span_seconds, paused_seconds, stopped_at, breached_at, next_check_at, fired)
  SELECT $1, gen_random_uuid(), x.id, 1, k.target, 'calendar', '{}',
    CASE WHEN k.stopped IS NOT NULL THEN 'stopped'
         WHEN k.due < now() THEN 'breached' ELSE 'running' END,
    1, k.started, k.due, extract(epoch FROM k.due - k.started)::bigint, 0, k.stopped,
    CASE WHEN coalesce(k.stopped, now()) > k.due THEN k.due END,
    CASE WHEN k.stopped IS NULL THEN k.due END, '{}'
  FROM x CROSS JOIN LATERAL (VALUES
      ('first_response', x.received_at, x.received_at + interval '24 hours', x.first_response_at),
      ('resolution', x.received_at, x.received_at + interval '14 days', x.first_resolved_at),
      ('followup', x.first_resolved_at, x.followup_due_by, x.followup_done_at)
    ) AS k(target, started, due, stopped)
  WHERE k.due IS NOT NULL
  RETURNING 1
)
INSERT INTO case_facts (
  tenant_id, id, status, merged, kind, channel, category_id, category_code, severity_code,
  department_id, handler_id, resolved_by, product, is_repeat, received_at, first_response_at,
  first_response_seconds, first_response_business_seconds, first_resolved_at,
  resolution_seconds, resolution_business_seconds, closed_at, close_seconds,
  close_business_seconds, waiting_seconds, customer_contacts, reopen_count, first_reopened_at,
  reopened_in_window, breached_targets, escalation_level, made_major_at, satisfaction,
  satisfied, satisfaction_at, followup_due_by, followup_done_at, followup_outcome,
  responsible_party, solution_type, third_party, updated_at)
SELECT $1, id, status, false, kind, channel, cat_ids[cat], cat_codes[cat], sev_codes[sev],
  dept_ids[dept], handler_ids[hand],
  CASE WHEN first_resolved_at IS NOT NULL THEN handler_ids[hand] END,
  (ARRAY['电水壶','快递服务','会员服务','手机','耳机'])[1 + floor(r_prod * r_prod * 5)::int],
  r_rep < 0.07, received_at, first_response_at,
  extract(epoch FROM first_response_at - received_at)::bigint,
  (extract(epoch FROM first_response_at - received_at) * 0.27)::bigint,
  first_resolved_at,
  extract(epoch FROM first_resolved_at - received_at)::bigint,
  (extract(epoch FROM first_resolved_at - received_at) * 0.27)::bigint,
  closed_at,
  extract(epoch FROM closed_at - received_at)::bigint,
  (extract(epoch FROM closed_at - received_at) * 0.27)::bigint,
  0, CASE WHEN first_resolved_at IS NOT NULL THEN 1 + floor(r_contacts * 3)::int ELSE 0 END,
  CASE WHEN reopened THEN 1 ELSE 0 END,
  CASE WHEN reopened THEN first_resolved_at + interval '2 days' END,
  reopened,
  array_remove(ARRAY[
    CASE WHEN coalesce(first_response_at, now()) > received_at + interval '24 hours'
         THEN 'first_response' END,
    CASE WHEN coalesce(first_resolved_at, now()) > received_at + interval '14 days'
         THEN 'resolution' END]::varchar[], NULL),
  CASE WHEN r_esc < 0.02 THEN 2 WHEN r_esc < 0.12 THEN 1 ELSE 0 END,
  made_major_at,
  CASE WHEN satisfaction_at IS NOT NULL THEN
    CASE WHEN r_sat_code < 0.55 THEN 'satisfied' WHEN r_sat_code < 0.85
         THEN 'basically_satisfied' ELSE 'unsatisfied' END END,
  CASE WHEN satisfaction_at IS NOT NULL THEN r_sat_code < 0.85 END,
  satisfaction_at, followup_due_by, followup_done_at,
  CASE WHEN followup_done_at IS NOT NULL THEN
    CASE WHEN r_fu_done < 0.6 THEN 'resolved_satisfied' WHEN r_fu_done < 0.78
         THEN 'partially_resolved' ELSE 'unresolved' END END,
  CASE WHEN first_resolved_at IS NOT NULL THEN
    CASE WHEN r_party < 0.5 THEN 'internal' WHEN r_party < 0.7 THEN 'customer'
         ELSE 'third_party' END END,
  CASE WHEN first_resolved_at IS NOT NULL THEN
    (ARRAY['refund','replacement','coupon','explanation'])[1 + floor(r_contacts * 40)::int % 4]
  END,
  CASE WHEN first_resolved_at IS NOT NULL AND r_party >= 0.7 THEN
    (ARRAY['顺丰速运','中通快递','京东物流'])[1 + floor(r_party * 30)::int % 3] END,
  now()
FROM x
"""

# The rollup from the facts: closeloop.reports.rollup.MEASURES, in SQL.
_ROLLUP = """
INSERT INTO report_daily (tenant_id, id, day, measure, kind, channel, category, severity,
                          department, n)
SELECT $1, gen_random_uuid(), (m.at AT TIME ZONE $2)::date, m.measure, f.kind, f.channel,
       coalesce(f.category_code, ''), coalesce(f.severity_code, ''),
       coalesce(f.department_id::text, ''), count(*)
FROM case_facts f CROSS JOIN LATERAL (VALUES
    ('received', f.received_at, true),
    ('complaints', f.received_at, f.kind = 'complaint'),
    ('repeat', f.received_at, f.is_repeat),
    ('resolved', f.first_resolved_at, true),
    ('fcr', f.first_resolved_at, f.reopen_count = 0 AND f.customer_contacts <= 1),
    ('reopened_in_window', f.first_resolved_at, f.reopened_in_window),
    ('closed', f.closed_at, true),
    ('answered', f.satisfaction_at, true),
    ('satisfied', f.satisfaction_at, coalesce(f.satisfied, false)),
    ('made_major', f.made_major_at, true)
  ) AS m(measure, at, holds)
WHERE NOT f.merged AND m.at IS NOT NULL AND m.holds
GROUP BY 3, 4, 5, 6, 7, 8, 9
"""


async def _seeded(owner_url: str, args: argparse.Namespace) -> bool:
    conn = await asyncpg.connect(owner_url)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_reports_seed') IS NOT NULL"):
            return False
        row = await conn.fetchrow("SELECT tenants, cases_per_tenant, big FROM bench_reports_seed")
        return row is not None and tuple(row) == (args.tenants, args.cases_per_tenant, args.big)
    finally:
        await conn.close()


async def _create_tenants(factory: async_sessionmaker[AsyncSession], slugs: list[str]) -> None:
    limit = asyncio.Semaphore(4)

    async def one(slug: str) -> None:
        async with limit, factory() as session, session.begin():
            await TenantService(session, actor="bench-seed").create(
                slug=slug, name=slug, locale="zh-CN", timezone="Asia/Shanghai"
            )

    await asyncio.gather(*(one(slug) for slug in slugs))


def _slugs(args: argparse.Namespace) -> list[str]:
    return [BIG] + [f"bench-r-{n:03d}" for n in range(args.tenants)]


async def _seed(urls: Provisioned, args: argparse.Namespace) -> None:
    begun = time.perf_counter()
    slugs = _slugs(args)
    print(f"creating {len(slugs)} tenants through TenantService.create ...", flush=True)
    engine = create_engine(urls.app_url, pool_size=4)
    try:
        await _create_tenants(sessionmaker(engine), slugs)
    finally:
        await engine.dispose()
    owner = await asyncpg.connect(urls.owner_url)
    try:
        await owner.execute(_SEED_TABLE)
        tenants = {
            r["slug"]: r["id"]
            for r in await owner.fetch("SELECT id, slug FROM tenants WHERE slug LIKE 'bench-r-%'")
        }
        for slug, tenant_id in tenants.items():
            async with owner.transaction():
                await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
                await owner.execute(_HANDLERS, tenant_id, slug, HANDLERS)
        indexes = []
        for table in LOADED_TABLES:
            indexes += await owner.fetch(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = $1 "
                "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                table,
            )
        for row in indexes:
            await owner.execute(f'DROP INDEX "{row["indexname"]}"')
    finally:
        await owner.close()

    # Rounds over all tenants in turn, so a tenant's rows lie all over the tables.
    work: list[tuple[uuid.UUID, int, int]] = []
    sizes = {slug: (args.big if slug == BIG else args.cases_per_tenant) for slug in slugs}
    for start in range(0, max(sizes.values()), ROUND):
        for slug in slugs:
            if start < sizes[slug]:
                work.append((tenants[slug], start, min(ROUND, sizes[slug] - start)))
    total = sum(sizes.values())
    print(f"loading {total:,} cases with clocks and facts as the owner role ...", flush=True)
    loaded, step = 0, time.perf_counter()
    queue: asyncio.Queue[tuple[uuid.UUID, int, int]] = asyncio.Queue()
    for item in work:
        queue.put_nowait(item)

    async def loader() -> None:
        nonlocal loaded
        conn = await asyncpg.connect(urls.owner_url)
        try:
            while not queue.empty():
                tenant_id, start, count = queue.get_nowait()
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.tenant_id', $1, true)", str(tenant_id)
                    )
                    await conn.execute(_ROUND, tenant_id, count, start, HANDLERS)
                loaded += count
                if loaded % 100_000 < count:
                    rate = loaded / (time.perf_counter() - step)
                    print(f"  {loaded:,} cases ({rate:,.0f} cases/s)", flush=True)
        finally:
            await conn.close()

    await asyncio.gather(*(loader() for _ in range(2)))
    owner = await asyncpg.connect(urls.owner_url)
    try:
        await owner.execute("SET maintenance_work_mem = '512MB'")
        print("recreating the indexes ...", flush=True)
        for row in indexes:
            began = time.perf_counter()
            await owner.execute(row["indexdef"])
            print(f"  {row['indexname']}: {time.perf_counter() - began:.0f} s", flush=True)
        print("filling report_daily from case_facts ...", flush=True)
        for tenant_id in tenants.values():
            async with owner.transaction():
                await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
                await owner.execute(_ROLLUP, tenant_id, "Asia/Shanghai")
        print("VACUUM ANALYZE ...", flush=True)
        for table in (*LOADED_TABLES, "report_daily", "users", "tenants"):
            await owner.execute(f"VACUUM (ANALYZE) {table}")
        await owner.execute(
            "INSERT INTO bench_reports_seed (tenants, cases_per_tenant, big) VALUES ($1, $2, $3)",
            args.tenants,
            args.cases_per_tenant,
            args.big,
        )
    finally:
        await owner.close()
    print(f"seeded in {time.perf_counter() - begun:.0f} s", flush=True)


# --- measuring ----------------------------------------------------------------------


def _months_back(today: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The `months` whole months before the current one."""
    first_of_this = today.replace(day=1)
    end = first_of_this - dt.timedelta(days=1)
    index = first_of_this.year * 12 + first_of_this.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1), end


class Statements:
    """Every statement a summary sends, with its parameters and time (for EXPLAIN)."""

    def __init__(self, engine: Any) -> None:
        self.on = False
        self.seen: list[tuple[float, str, Any]] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, parameters: Any, *a: Any) -> None:
        conn.info["bench_began"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *a: Any) -> None:
        if self.on:
            took = time.perf_counter() - conn.info.pop("bench_began", time.perf_counter())
            self.seen.append((took, statement, parameters))


def _cpu_seconds(pid: int) -> float | None:
    """CPU time of a server process so far (user + system), when it runs on this
    machine and /proc shows it; else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The server processes of the benchmark's pool (its application role in this database):
# the summary's session and the connections it runs statements on (its lanes).
_BACKENDS = text(
    "SELECT array_agg(pid) FROM pg_stat_activity "
    "WHERE datname = current_database() AND usename = current_user"
)


def _cpu_of(pids: list[int]) -> list[float] | None:
    times = [_cpu_seconds(pid) for pid in pids]
    return None if any(t is None for t in times) else [t or 0.0 for t in times]


Timing = tuple[float, float | None, float | None]


async def _summary(
    factory: async_sessionmaker[AsyncSession], settings: Settings, tenant_id: uuid.UUID,
    query: ReportQuery,
) -> Timing:  # fmt: skip
    """Wall time of one summary, the CPU time the server processes of the pool (its
    session and its lanes) spent on it, and the CPU time of the busiest of them."""
    began = time.perf_counter()
    async with factory() as session, session.begin():
        await tenant_scope(session, tenant_id)
        pids = (await session.execute(_BACKENDS)).scalar_one()
        cpu = _cpu_of(pids)
        summary = await ReportService(session, principal=None, settings=settings).summary(query)
        after = _cpu_of(pids)
    took = time.perf_counter() - began
    assert summary.metrics["volume"].value is not None
    if after is None or cpu is None:
        return took, None, None
    spent = [a - b for a, b in zip(after, cpu, strict=True)]
    return took, sum(spent), max(spent)


async def _explain(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID, statement: str,
    parameters: object,
) -> None:  # fmt: skip
    """EXPLAIN (ANALYZE, BUFFERS) of `statement` as the app sent it, in `tenant_id`,
    with the report's transaction settings (`REPORT_SETTINGS`)."""
    async with factory() as session, session.begin():
        await tenant_scope(session, tenant_id)
        await report_settings(session)
        conn = await session.connection()
        plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        for (line,) in plan:
            print(f"  {line}")


async def _measure(urls: Provisioned, args: argparse.Namespace, version: str) -> None:
    # the summary's session and its two lanes (closeloop.reports.lanes), all kept
    engine = create_engine(urls.app_url, pool_size=3)
    factory = sessionmaker(engine)
    statements = Statements(engine)
    today = dt.datetime.now(ZONE).date()
    month = ReportQuery(*_months_back(today, 1))
    trend = ReportQuery(*_months_back(today, 12), group_by="month")
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT id, slug FROM tenants WHERE slug LIKE 'bench-r-%' ORDER BY slug")
                )
            ).all()
        big = next(r for r in rows if r[1] == BIG)
        ordinary = [r for r in rows if r[1] != BIG]
        rng = random.Random(20261205)  # noqa: S311 - a sample, not a secret
        chosen = rng.sample(ordinary, min(args.samples, len(ordinary)))
        with tempfile.TemporaryDirectory(prefix="closeloop-bench-") as folder:
            settings = _support.app_settings(
                urls, Path(folder), operator_token=secrets.token_urlsafe(32)
            )
            for sample in [*chosen[:2], big]:  # warm-up
                await _summary(factory, settings, sample[0], month)
            load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            results: dict[str, list[Timing]] = {}
            for label, query in (("monthly summary", month), ("12-month trend", trend)):
                results[f"{label}, {args.cases_per_tenant:,}-case tenants"] = [
                    await _summary(factory, settings, s[0], query) for s in chosen
                ]
                results[f"{label}, the {args.big:,}-case tenant"] = [
                    await _summary(factory, settings, big[0], query) for _ in range(args.samples)
                ]
            seen: dict[str, list[tuple[float, str, Any]]] = {}
            for name, query in (("monthly summary", month), ("12-month trend", trend)):
                statements.seen = []
                statements.on = True
                await _summary(factory, settings, big[0], query)
                statements.on = False
                # (the benchmark's own look at pg_stat_activity left out)
                seen[name] = [s for s in statements.seen if "pg_stat_activity" not in s[1]]

        print()
        load = f"{load_before} before, " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        async with engine.connect() as conn:
            facts = (await conn.execute(text("SELECT pg_size_pretty(pg_total_relation_size("
                                             "'case_facts'))"))).scalar_one()  # fmt: skip
        print(
            f"PostgreSQL {version}; {os.cpu_count()} CPUs, load average {load}; "
            f"{len(rows)} tenants, {args.big + args.cases_per_tenant * args.tenants:,} cases "
            f"(case_facts with indexes: {facts}); month {month.date_from}..{month.date_to}, "
            f"trend {trend.date_from}..{trend.date_to}"
        )
        heads = f"{'p50 ms':>10}{'max ms':>10}{'cpu ms':>9}{'lane ms':>9}"
        print(f"{'query':<52}{'runs':>6}{heads}  target")
        for name, values in results.items():
            target = TARGET_TREND_MS if "trend" in name else TARGET_MONTH_MS
            p50 = 1000 * _support.percentile(sorted(v[0] for v in values), 50)
            worst = 1000 * max(v[0] for v in values)
            cpu = ""
            for column in (1, 2):
                cpus = sorted(c for c in (v[column] for v in values) if c is not None)
                cpu += f"{1000 * _support.percentile(cpus, 50):9.1f}" if cpus else f"{'-':>9}"
            verdict = f"< {target:.0f} ms {'met' if p50 < target else 'NOT met'}"
            print(f"{name:<52}{len(values):>6}{p50:>10.1f}{worst:>10.1f}{cpu}  {verdict}")
        print(
            "(cpu ms: p50 of the CPU time the server processes spent on one summary; lane ms:\n"
            " p50 of the CPU time of the busiest of them, the summary's lanes running side by\n"
            " side: what a quiet machine with a core per lane would take in the server)"
        )

        for name, sent in seen.items():
            slowest = sorted(sent, key=lambda s: s[0], reverse=True)[: args.plans]
            total = sum(s[0] for s in sent)
            print(
                f"\none {name} of the big tenant sent {len(sent)} statements, "
                f"{1000 * total:.1f} ms in the database driver; the {len(slowest)} slowest:"
            )
            for took, statement, parameters in slowest:
                print(f"\n-- {1000 * took:.1f} ms\n{statement}\n-- parameters: {parameters}")
                await _explain(factory, big[0], statement, parameters)
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    async def measure(urls: Provisioned, version: str) -> None:
        await _measure(urls, args, version)

    await _support.run_seeded(
        args.database_url,
        args.database_name,
        reuse=args.reuse,
        drop=args.drop,
        seeded=lambda urls: _seeded(urls.owner_url, args),
        seed=lambda urls: _seed(urls, args),
        measure=None if args.seed_only else measure,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tenants", type=int, default=40, help="ordinary tenants")
    parser.add_argument("--cases-per-tenant", type=int, default=20_000)
    parser.add_argument("--big", type=int, default=200_000, help="cases of the big tenant")
    parser.add_argument("--samples", type=int, default=10, help="runs per figure")
    parser.add_argument("--plans", type=int, default=4, help="slowest statements explained")
    parser.add_argument("--database-url", help="superuser URL of a server (default DATABASE_URL)")
    parser.add_argument("--database-name", default=DATABASE)
    parser.add_argument("--reuse", action="store_true", help="keep a database seeded the same way")
    parser.add_argument("--seed-only", action="store_true", help="seed, do not measure")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
