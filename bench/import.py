"""Import throughput into the database, and whether the importer's memory stays flat.

    .venv/bin/python bench/import.py [--rows 200000] [--profile]

A fresh database (`closeloop_bench_import`) is provisioned and migrated. Files: the
whole CFPB export (11,782 rows) and a generated CFPB-format CSV of `--rows` rows (the
real rows repeated with new complaint ids, `bench/import_read.py`). Each file is
imported into a tenant of its own (made by `TenantService.create`, so it has the
defaults: calendar, SLA policies) through `closeloop.imports.service.import_file`,
exactly what `closeloop cases import` runs: mapping, category tree created on the fly,
numbers, SLA clocks as history, search documents, timeline event, row errors, the
run's audit entry. Each import runs in a fresh child process, so its peak resident
memory is its own; `--profile` prints where the child's time goes (cProfile, top 25).

Printed per file: rows, seconds, rows per second, the importer's CPU seconds (the rest
of the time it waits: on the database, or for a core on a loaded machine), RSS before
the import (modules loaded) and the child's peak RSS. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import _support
from import_read import CFPB, _rss_mib, generate

from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.provision import Provisioned
from closeloop.tenancy.service import TenantService

DATABASE = "closeloop_bench_import"


async def _tenant(urls: Provisioned, slug: str) -> uuid.UUID:
    engine = create_engine(urls.app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine)) as session:
            tenant = await TenantService(session, actor="bench").create(
                slug=slug, name=slug, locale="en", timezone="America/New_York"
            )
            return tenant.id
    finally:
        await engine.dispose()


async def _import(urls: dict[str, str], tenant_id: str, path: str) -> dict[str, object]:
    from closeloop.imports import shipped_mapping
    from closeloop.imports.service import import_file

    settings = _support.app_settings(
        Provisioned(**urls), Path(tempfile.mkdtemp()), operator_token="bench-" * 6
    )
    engine = create_engine(urls["app_url"], pool_size=2)
    before = _rss_mib()
    cpu_before = time.process_time()
    started = time.perf_counter()
    run = await import_file(
        sessionmaker(engine),
        settings,
        tenant_id=uuid.UUID(tenant_id),
        actor="bench",
        source=Path(path),
        file_name=Path(path).name,
        mapping=shipped_mapping("cfpb"),
    )
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    await engine.dispose()
    return {
        "rows": run.rows,
        "created": run.created,
        "errors": run.errors,
        "status": run.status,
        "seconds": round(seconds, 1),
        "rows_per_s": round(run.rows / seconds),
        "app_cpu_s": round(cpu, 1),
        "rss_before_mib": round(before),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _child(argv: list[str]) -> None:
    urls, tenant_id, path, profile = json.loads(argv[0]), argv[1], argv[2], argv[3] == "1"
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, _import(urls, tenant_id, path))
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    else:
        result = asyncio.run(_import(urls, tenant_id, path))
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="closeloop-bench-import-"))
    files = [CFPB] if CFPB.is_file() else []
    if args.rows:
        files.append(generate(folder, args.rows, xlsx=False)[0][0])
    with _support.superuser_url(args.database_url) as superuser:
        urls = asyncio.run(_support.prepare_database(superuser, DATABASE, fresh=True))
        print(f"PostgreSQL {asyncio.run(_support.server_version(superuser))}", flush=True)
        print(
            f"{'file':<34} {'rows':>8} {'errors':>7} {'s':>7} {'rows/s':>7} {'RSS0':>6} {'peak':>6}"
        )
        for number, path in enumerate(files):
            tenant_id = asyncio.run(_tenant(urls, f"bench-import-{number}"))
            out = subprocess.run(  # noqa: S603 - this script, in a child process
                [
                    sys.executable,
                    __file__,
                    "--child",
                    json.dumps({"owner_url": urls.owner_url, "app_url": urls.app_url}),
                    str(tenant_id),
                    str(path),
                    "1" if args.profile else "0",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            if args.profile:
                print(out.stderr[-6000:])
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{path.name:<34} {r['rows']:>8} {r['errors']:>7} {r['seconds']:>7} "
                f"{r['rows_per_s']:>7} {r['app_cpu_s']:>9} {r['rss_before_mib']:>5}M "
                f"{r['peak_rss_mib']:>5}M",
                flush=True,
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        main()
