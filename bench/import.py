"""Import throughput into the database, and whether the importer's memory stays flat.

    .venv/bin/python bench/import.py [--rows 200000] [--trace | --profile]
        [--child-prefix 'py-spy record -f raw -o out.txt --'] [--database NAME]

A fresh database (`closeloop_bench_import`, or `--database`) is provisioned and
migrated. Files: the whole CFPB export (11,782 rows) and a generated CFPB-format CSV of
`--rows` rows (the real rows repeated with new complaint ids, `bench/import_read.py`).
Each file is imported into a tenant of its own (made by `TenantService.create`, so it
has the defaults: calendar, SLA policies) through `closeloop.imports.service.import_file`,
exactly what `closeloop cases import` runs: mapping, category tree created on the fly,
numbers, SLA clocks as history, search documents, timeline event, report facts and
rollup, row errors, the run's audit entry. Each import runs in a fresh child process,
so its peak resident memory is its own.

Printed per file: rows, errors, seconds, rows per second, the importer's CPU seconds,
the CPU seconds of the PostgreSQL server processes that served it (read from /proc:
the server must run on this machine, else 0), RSS before the import (modules loaded),
the child's peak RSS, and the load average (1, 5, 15 minutes) when it ended: on a
shared machine the rate depends on it, the CPU seconds much less. `--trace` adds the
wall time (and main-thread CPU) of each step of the batches, `--profile` the child's
main thread by cProfile, `--child-prefix` runs each child under a command (a sampling
profiler). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import _support
from import_read import CFPB, _rss_mib, generate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def _backends_cpu(engine: AsyncEngine) -> float:
    """CPU seconds of the PostgreSQL server processes serving `engine`'s connections (the
    server runs on this machine: read from /proc; 0 when it cannot be read)."""
    async with engine.connect() as conn:
        pids = (
            await conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND usename = current_user"
                )
            )
        ).scalars()
        return sum(_process_cpu(pid) for pid in pids)


def _process_cpu(pid: int) -> float:
    """User and system CPU seconds of process `pid` (0 when /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _import(urls: dict[str, str], tenant_id: str, path: str) -> dict[str, object]:
    from closeloop.imports import shipped_mapping
    from closeloop.imports.service import import_file

    settings = _support.app_settings(
        Provisioned(**urls), Path(tempfile.mkdtemp()), operator_token="bench-" * 6
    )
    engine = create_engine(urls["app_url"], pool_size=4)
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
    db_cpu = await _backends_cpu(engine)
    await engine.dispose()
    return {
        "rows": run.rows,
        "created": run.created,
        "errors": run.errors,
        "status": run.status,
        "seconds": round(seconds, 1),
        "rows_per_s": round(run.rows / seconds),
        "app_cpu_s": round(cpu, 1),
        "db_cpu_s": round(db_cpu, 1),
        "rss_before_mib": round(before),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


_TIMES: dict[str, list[float]] = {}  # label: wall seconds, calls, CPU seconds


def _timed(owner: object, name: str, label: str) -> None:
    """Wrap the coroutine method `owner.name` to add its wall time, and the main
    thread's CPU time while it ran (a batch being written and the next one being
    prepared share it), to `_TIMES[label]`."""
    method = getattr(owner, name)

    async def wrapper(*args: object, **kwargs: object) -> object:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return await method(*args, **kwargs)
        finally:
            spent = _TIMES.setdefault(label, [0.0, 0, 0.0])
            spent[0] += time.perf_counter() - started
            spent[1] += 1
            spent[2] += time.thread_time() - cpu

    setattr(owner, name, wrapper)


def _trace() -> None:
    from closeloop import rows
    from closeloop.imports import _ahead, _batch, _numbers, writer

    _timed(_batch.Batch, "write", "batch, in all")
    _timed(_batch.Batch, "_prepare", "  prepared (before its turn)")
    _timed(_batch.Batch, "_new_case", "    new case built")
    _timed(_batch.Batch, "_write", "  written (its turn)")
    _timed(_batch.Batch, "_existing", "    existing ids looked up")
    _timed(_numbers.NumberBook, "take", "    numbers taken")
    _timed(_batch.Batch, "_finish", "    number, customer, search")
    _timed(rows, "insert_many", "    INSERT")
    _timed(_batch.Batch, "_roll_up", "    rollup")
    _timed(_batch.Batch, "_update", "    changed case updated")
    chunked = writer.chunked

    def timed_chunks(results: object, size: int) -> object:
        # Runs on the reader thread: its CPU time is the reading and mapping.
        yield from chunked(results, size)  # type: ignore[arg-type]
        _TIMES["reader thread"] = [0.0, 1, time.thread_time()]

    writer.chunked = timed_chunks  # type: ignore[assignment]
    reading = _ahead.ahead

    async def ahead(chunks: object) -> object:
        iterator = reading(chunks).__aiter__()  # type: ignore[arg-type]
        while True:
            started = time.perf_counter()
            try:
                item = await iterator.__anext__()
            except StopAsyncIteration:
                return
            finally:
                spent = _TIMES.setdefault("waiting for rows", [0.0, 0, 0.0])
                spent[0] += time.perf_counter() - started
                spent[1] += 1
            yield item

    writer.ahead = ahead  # type: ignore[assignment]


def _child(argv: list[str]) -> None:
    urls, tenant_id, path, profile = json.loads(argv[0]), argv[1], argv[2], argv[3]
    if profile == "trace":
        _trace()
        result = asyncio.run(_import(urls, tenant_id, path))
        print(f"{'step':<28} {'wall s':>8} {'calls':>7} {'CPU s':>7}", file=sys.stderr)
        for label, (seconds, calls, cpu) in _TIMES.items():
            print(f"{label:<28} {seconds:>8.1f} {calls:>7} {cpu:>7.2f}", file=sys.stderr)
    elif profile == "profile":
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        result = profiler.runcall(asyncio.run, _import(urls, tenant_id, path))
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime")
        stats.print_stats(45)
    else:
        result = asyncio.run(_import(urls, tenant_id, path))
    print(json.dumps(result))


_COLUMNS = ("file", "rows", "errors", "s", "rows/s", "CPU s", "DB CPU s", "RSS0 MiB", "peak MiB")
_KEYS = (
    "rows",
    "errors",
    "seconds",
    "rows_per_s",
    "app_cpu_s",
    "db_cpu_s",
    "rss_before_mib",
    "peak_rss_mib",
)


def _line(values: Sequence[object]) -> str:
    first, *rest = values
    return f"{first!s:<30}" + "".join(f"{value!s:>10}" for value in rest)


def _load() -> str:
    """The 1-minute load average before and after (the machine may be shared)."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--trace", action="store_true")
    parser.add_argument(
        "--child-prefix",
        default="",
        help="a command to run each import under, e.g. 'py-spy record -f raw -o out.txt --'",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--database", default=DATABASE, help="the benchmark database's name")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="closeloop-bench-import-"))
    files = [CFPB] if CFPB.is_file() else []
    if args.rows:
        files.append(generate(folder, args.rows, xlsx=False)[0][0])
    with _support.superuser_url(args.database_url) as superuser:
        urls = asyncio.run(_support.prepare_database(superuser, args.database, fresh=True))
        print(f"PostgreSQL {asyncio.run(_support.server_version(superuser))}", flush=True)
        print(_line(_COLUMNS), "load average")
        for number, path in enumerate(files):
            tenant_id = asyncio.run(_tenant(urls, f"bench-import-{number}"))
            out = subprocess.run(  # noqa: S603 - this script, in a child process
                [
                    *args.child_prefix.split(),
                    sys.executable,
                    __file__,
                    "--child",
                    json.dumps({"owner_url": urls.owner_url, "app_url": urls.app_url}),
                    str(tenant_id),
                    str(path),
                    "profile" if args.profile else "trace" if args.trace else "",
                ],
                check=False,
                capture_output=True,
                text=True,
            )
            if out.returncode:
                sys.exit(f"the import of {path.name} failed:\n{out.stderr[-6000:]}")
            if args.profile or args.trace:
                print(out.stderr[-20000:])
            r = json.loads([x for x in out.stdout.splitlines() if x.startswith("{")][-1])
            print(_line([path.name, *(r[key] for key in _KEYS)]), _load(), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        main()
