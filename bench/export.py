"""Case export at scale: XLSX (and CSV) of one tenant's 200,000 cases, rows per second
and peak memory.

    .venv/bin/python bench/export.py [--cases 200000] [--sizes 50000,200000]
                                     [--reuse] [--database-url URL] [--drop]

Seeding (skipped with `--reuse` when `closeloop_bench_export` holds the same seed): one
tenant through `TenantService.create`, 2,000 customers whose name and phone are
encrypted under the tenant's key as intake does, and `--cases` cases written by the
owner role with `INSERT ... SELECT generate_series` (received one minute apart, text
round-robin from real complaints, every field the export reads filled).

Measured: for each size N of `--sizes`, a fresh process exports the newest N cases
(the list filter `received_from`) through `CaseExportService.open` exactly as
`GET /api/v1/cases/export` does (its own snapshot transaction, keyset pages of 200,
customers decrypted and masked), taking the streamed chunks. Printed per
format and size: rows, seconds, rows per second, the exporting process's CPU seconds
(and rows per CPU second: it moves less with the machine's load than the wall clock;
the database server's own time is not in it), file size, the process's peak RSS
(`ru_maxrss`) and its RSS before the export; constant memory shows as the same peak
for 50,000 and 200,000 rows. The chunks are counted and dropped, as a client would
take them off the socket.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import datetime as dt
import json
import os
import resource
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

import _support
import asyncpg

from closeloop.cases.export import CaseExportService
from closeloop.cases.listing import CaseFilters
from closeloop.db import create_engine, sessionmaker, tenant_scope
from closeloop.identity.principal import Principal
from closeloop.pii.cipher import cipher_for
from closeloop.provision import Provisioned
from closeloop.settings import Settings
from closeloop.tenancy.service import TenantService

DATABASE = "closeloop_bench_export"
SLUG = "bench-export"
CUSTOMERS = 2000
# The newest case is received at BASE; case n (1 = newest) one minute per n earlier.
BASE = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

_SEED_TABLE = """
CREATE TABLE IF NOT EXISTS bench_export_seed (cases int NOT NULL, master_key text NOT NULL,
                                              tenant_id uuid NOT NULL)
"""
_CASES = """
WITH cfg AS (
  SELECT (SELECT array_agg(id ORDER BY position, code) FROM categories) AS cat_ids,
         (SELECT array_agg(code ORDER BY position, code) FROM categories) AS cat_codes,
         (SELECT array_agg(id ORDER BY rank) FROM severities) AS sev_ids,
         (SELECT array_agg(code ORDER BY rank) FROM severities) AS sev_codes,
         (SELECT array_agg(id ORDER BY external_ref) FROM customers) AS cust_ids
)
INSERT INTO cases (
  tenant_id, id, created_at, updated_at, number, kind, status, channel, received_at, title,
  description, customer_id, category_id, category_code, severity_id, severity_code,
  severity_rank, escalation_level, product, demands, extra, collaborating_department_ids,
  handler_history, due_at, repeat_of, is_repeat, search, version)
SELECT $1, gen_random_uuid(), $3::timestamptz - n * interval '1 minute',
  $3::timestamptz - n * interval '1 minute', 'EX-' || lpad(n::text, 7, '0'),
  (ARRAY['complaint','service_request','inquiry'])[1 + n % 3],
  (ARRAY['registered','assigned','in_progress','resolved','closed','archived'])[1 + n % 6],
  (ARRAY['phone','web','app','email','chat','social'])[1 + n % 6],
  $3::timestamptz - n * interval '1 minute', t.title, t.description,
  cfg.cust_ids[1 + n % $4], cfg.cat_ids[1 + n % 5], cfg.cat_codes[1 + n % 5],
  cfg.sev_ids[1 + n % 3], cfg.sev_codes[1 + n % 3], 1 + n % 3, n % 2,
  '{}'::jsonb, ARRAY['refund'], '{}'::jsonb, '{}', '{}',
  $3::timestamptz - n * interval '1 minute' + interval '2 days', '{}', n % 7 = 0,
  ''::tsvector, 1
FROM generate_series(1, $2) AS n CROSS JOIN cfg
JOIN bench_export_texts t ON t.k = n % (SELECT count(*) FROM bench_export_texts)
"""


async def _seeded(owner_url: str, cases: int) -> tuple[str, str] | None:
    conn = await asyncpg.connect(owner_url)
    try:
        await conn.execute(_SEED_TABLE)
        row = await conn.fetchrow("SELECT cases, master_key, tenant_id FROM bench_export_seed")
    finally:
        await conn.close()
    if row is None or row["cases"] != cases:
        return None
    return str(row["master_key"]), str(row["tenant_id"])


async def _seed(urls: Provisioned, cases: int) -> tuple[str, str]:
    begun = time.perf_counter()
    master_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    settings = _settings(urls, master_key)
    engine = create_engine(urls.app_url, pool_size=2)
    try:
        async with sessionmaker(engine)() as session, session.begin():
            tenant = await TenantService(session, actor="bench-seed").create(
                slug=SLUG, name="Bench export", locale="zh-CN", timezone="Asia/Shanghai"
            )
            tenant_id = tenant.id
        async with sessionmaker(engine)() as session, session.begin():
            await tenant_scope(session, tenant_id)
            cipher = await cipher_for(session, settings)
        customers = [
            (tenant_id, f"C{k:05d}", f"客户{k}", cipher.encrypt(f"王{k}号"),
             cipher.encrypt(f"138{k:08d}"), cipher.blind_index("phone", f"138{k:08d}"))
            for k in range(CUSTOMERS)
        ]  # fmt: skip
    finally:
        await engine.dispose()
    texts = _support.complaint_texts()
    owner = await asyncpg.connect(urls.owner_url)
    try:
        async with owner.transaction():
            await owner.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
            await owner.executemany(
                "INSERT INTO customers (tenant_id, id, external_ref, nickname, name_enc, "
                "phone_enc, phone_hash, created_at) "
                "VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, now())",
                customers,
            )
            await owner.execute(
                "CREATE TABLE bench_export_texts (k int PRIMARY KEY, title text, description text)"
            )
            await owner.executemany(
                "INSERT INTO bench_export_texts VALUES ($1, $2, $3)",
                [(k, t[:200], d) for k, (t, d) in enumerate(texts)],
            )
            await owner.execute(_CASES, tenant_id, cases, BASE, CUSTOMERS)
            await owner.execute(
                "INSERT INTO bench_export_seed VALUES ($1, $2, $3)", cases, master_key, tenant_id
            )
        await owner.execute("VACUUM ANALYZE cases")
    finally:
        await owner.close()
    print(f"seeded {cases:,} cases in {time.perf_counter() - begun:.0f} s", flush=True)
    return master_key, str(tenant_id)


def _settings(urls: Provisioned, master_key: str) -> Settings:
    """The app's settings with the seed's master key (its customers decrypt under it)."""
    settings = _support.app_settings(
        urls, Path(tempfile.gettempdir()), operator_token=secrets.token_urlsafe(32)
    )
    return dataclasses.replace(settings, master_key=master_key)


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _child(args: argparse.Namespace) -> None:
    """One export of the newest `args.child` cases; prints one JSON line."""
    urls = Provisioned(**json.loads(args.urls))
    settings = _settings(urls, args.master_key)
    engine = create_engine(urls.app_url, pool_size=2)
    factory = sessionmaker(engine)
    principal = Principal(
        tenant_id=uuid.UUID(args.tenant_id), roles=frozenset({"admin"}), permissions=frozenset()
    )
    filters = CaseFilters(received_from=BASE - dt.timedelta(minutes=args.child))
    try:
        async with factory() as session, session.begin():
            await tenant_scope(session, principal.tenant_id)
            export = await CaseExportService(
                session, principal=principal, settings=settings, sessions=factory
            ).open(filters, fmt=args.format)
        before = _rss_mib()
        begun, cpu = time.perf_counter(), time.process_time()
        size = 0  # the chunks as a client receives them, counted and dropped
        async for chunk in export.body:
            size += len(chunk)
        seconds, cpu = time.perf_counter() - begun, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "bytes": size,
                          "rss_before_mib": before, "peak_rss_mib": peak}))  # fmt: skip
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    with _support.superuser_url(args.database_url) as superuser:
        urls = await _support.prepare_database(superuser, DATABASE, fresh=not args.reuse)
        seed = await _seeded(urls.owner_url, args.cases)  # (makes the seed's table)
        if seed is None:
            if args.reuse:  # another seed: start again
                urls = await _support.prepare_database(superuser, DATABASE, fresh=True)
                await _seeded(urls.owner_url, args.cases)
            seed = await _seed(urls, args.cases)
        master_key, tenant_id = seed
        version = await _support.server_version(urls.app_url)
        print(f"PostgreSQL {version}; {args.cases:,} cases in one tenant", flush=True)
        sizes = [int(s) for s in args.sizes.split(",")]
        print(f"{'format':<6} {'rows':>8} {'seconds':>8} {'rows/s':>8} {'CPU s':>7} "
              f"{'rows/CPU s':>10} {'MiB file':>9} {'RSS before':>11} {'peak RSS':>9}")  # fmt: skip
        for fmt in ("xlsx", "csv"):
            for size in sizes:
                child = [sys.executable, __file__, "--child", str(size), "--format", fmt,
                         "--urls", json.dumps(dataclasses.asdict(urls)),
                         "--master-key", master_key, "--tenant-id", tenant_id]  # fmt: skip
                process = await asyncio.create_subprocess_exec(
                    *child, stdout=asyncio.subprocess.PIPE
                )
                out, _ = await process.communicate()
                if process.returncode:
                    raise SystemExit(f"the {fmt} export of {size} cases failed")
                result = json.loads(out.decode().strip().splitlines()[-1])
                print(
                    f"{fmt:<6} {size:>8,} {result['seconds']:>8.1f} "
                    f"{size / result['seconds']:>8,.0f} {result['cpu_seconds']:>7.1f} "
                    f"{size / result['cpu_seconds']:>10,.0f} {result['bytes'] / 2**20:>9.1f} "
                    f"{result['rss_before_mib']:>9.0f} M {result['peak_rss_mib']:>7.0f} M",
                    flush=True,
                )
        if args.drop:
            await _support.drop_database(superuser, DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--sizes", default="50000,200000")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--drop", action="store_true")
    parser.add_argument("--database-url")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--format", default="xlsx", help=argparse.SUPPRESS)
    parser.add_argument("--urls", help=argparse.SUPPRESS)
    parser.add_argument("--master-key", help=argparse.SUPPRESS)
    parser.add_argument("--tenant-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        asyncio.run(_child(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    main()
