"""Intake cost as one tenant's data grows: database and app CPU per intake at 0, 50,000
and 200,000 cases in the tenant.

    .venv/bin/python bench/intake_growth.py [--sizes 0,50000,200000] [--intakes 1000]
                                            [--concurrency 8] [--warmup 200] [--analyze]
                                            [--keep] [--database-url URL]

The production shape: `closeloop serve` (one process, background work in-process: the
outbox relay, the e-mail actor, the periodic sweeps) on a fresh database
(`closeloop_bench_growth`), sending its e-mail to an SMTP server this script runs
(aiosmtpd, accepting everything). One tenant, made through the operator API, with an
agent who files every case: real complaint texts, a customer with name and e-mail (half
of them a phone too), one intake in four from a customer seen a moment before (found,
and flagged a repeat when the category matches).

At each size, in one run of the same server: the tenant's history is filled up to that
many cases by SQL (`_growth_seed`: customers with encrypted e-mails, timeline events,
SLA clocks and their events, notifications, audit entries, each a copy of a row the app
wrote); `--analyze` then runs ANALYZE, as autovacuum would after such a load (without
it the server has only what it gathered itself: a server running without autovacuum,
as a CI server may, gathers nothing); then `--warmup` intakes, then `--intakes` measured
ones by `--concurrency` clients, and the wait until their e-mails are sent.

Printed per size: intakes per second, p50 latency, CPU time per intake of the database
backends (the server must be on this machine) and of the app process, the statements'
execution time per intake from pg_stat_statements when the server has it loaded, and
the index entries read per intake on the indexes read most (pg_stat_user_indexes; rows
read by sequential scans count too, by table). Last:
whether database and app CPU per intake stay within 20 % of their value at the first
size. Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _growth_seed
import _support
import asyncpg
import httpx
import psutil

from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.pii.cipher import cipher_for
from closeloop.provision import with_database
from closeloop.settings import load_settings

DATABASE = "closeloop_bench_growth"
PASSWORD = "growth-password-0123"  # noqa: S105 - a made-up tenant of a throwaway database
FLAT = 0.20
_CHANNELS = ("phone", "web", "app", "email", "chat")
_DEMANDS = ("refund", "exchange", "repair", "apology", "compensation")


@dataclasses.dataclass
class Row:
    size: int
    rate: float
    p50_ms: float
    db_ms: float
    app_ms: float
    statements_ms: float | None
    top_indexes: list[tuple[str, float]]
    top_statements: list[tuple[float, float, str]]
    errors: int


class MailSink:
    """Accepts every message (aiosmtpd) and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Meter:
    """CPU seconds of the benchmark database's backends and of the app's processes, and
    the server's own counters, between `start()` and `stop()`."""

    def __init__(self, monitor: asyncpg.Connection, app_pid: int, statements: bool) -> None:
        self.monitor = monitor
        self.app_pid = app_pid
        self.statements = statements

    async def _backends(self) -> dict[int, float]:
        rows = await self.monitor.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            DATABASE,
        )
        return _cpu(r["pid"] for r in rows)

    def _app(self) -> float:
        try:
            root = psutil.Process(self.app_pid)
            return sum(_cpu([root.pid, *(c.pid for c in root.children(recursive=True))]).values())
        except psutil.Error:
            return 0.0

    async def _indexes(self) -> dict[str, int]:
        """Index entries read, by index, and rows read by sequential scans, by table."""
        rows = await self.monitor.fetch(
            "SELECT indexrelname AS name, idx_tup_read AS n FROM pg_stat_user_indexes "
            "UNION ALL SELECT relname || ' (sequential)', seq_tup_read FROM pg_stat_user_tables"
        )
        return {r["name"]: r["n"] or 0 for r in rows}

    async def start(self) -> None:
        if self.statements:
            await self.monitor.execute("SELECT pg_stat_statements_reset()")
        await asyncio.sleep(1.5)  # backends report their table counters within a second
        self.db0, self.app0, self.idx0 = await self._backends(), self._app(), await self._indexes()

    async def stop(self, intakes: int) -> tuple[float, float, float | None, Any, Any]:
        await asyncio.sleep(1.5)
        db1, app1, idx1 = await self._backends(), self._app(), await self._indexes()
        # A backend that started meanwhile counts from zero; one that ended is lost.
        db = sum(v - self.db0.get(pid, 0.0) for pid, v in db1.items())
        per = {k: (v - self.idx0.get(k, 0)) / intakes for k, v in idx1.items()}
        top_idx = sorted(per.items(), key=lambda kv: -kv[1])[:5]
        statements_ms, top = None, []
        if self.statements:
            rows = await self.monitor.fetch(
                "SELECT calls, total_exec_time + total_plan_time AS total_exec_time, query "
                "FROM pg_stat_statements s "
                "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 "
                "ORDER BY total_exec_time DESC",
                DATABASE,
            )
            statements_ms = sum(r["total_exec_time"] for r in rows) / intakes
            top = [
                (r["calls"] / intakes, r["total_exec_time"] / intakes, " ".join(r["query"].split()))
                for r in rows[:6]
            ]
        return 1000 * db / intakes, 1000 * (app1 - self.app0) / intakes, statements_ms, top_idx, top


def _cpu(pids: Any) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[pid] = times.user + times.system
    return out


@dataclasses.dataclass
class Agent:
    headers: dict[str, str]
    categories: list[str]
    tenant_id: uuid.UUID


async def _make_agent(client: httpx.AsyncClient, operator: str) -> Agent:
    slug = f"growth-{secrets.token_hex(3)}"
    admin = f"admin@{slug}.example.com"
    made = await client.post(
        "/platform/v1/tenants/",
        headers={"Authorization": f"Bearer {operator}"},
        json={"slug": slug, "name": slug, "admin_email": admin, "admin_password": PASSWORD},
    )
    made.raise_for_status()
    admin_headers = await _login(client, slug, admin)
    agent = f"agent@{slug}.example.com"
    (
        await client.post(
            "/api/v1/users/",
            headers=admin_headers,
            json={
                "email": agent,
                "display_name": "Agent",
                "password": PASSWORD,
                "roles": ["agent"],
            },
        )
    ).raise_for_status()
    body = (await client.get("/api/v1/categories", headers=admin_headers)).json()
    items = body["items"] if isinstance(body, dict) else body
    tenant_id = uuid.UUID(made.json()["id"])
    return Agent(await _login(client, slug, agent), [str(i["id"]) for i in items], tenant_id)


async def _login(client: httpx.AsyncClient, slug: str, email: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": slug, "email": email, "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Bodies:
    """Intake bodies; numbered across the whole run, so customers are new unless returning."""

    def __init__(self, agent: Agent, texts: list[tuple[str, str]]) -> None:
        self.agent, self.texts, self.next = agent, texts, 0
        self.rng = random.Random(7)  # noqa: S311 - test data

    def take(self) -> dict[str, Any]:
        i, rng = self.next, self.rng
        self.next += 1
        who = i - 37 if i % 4 == 3 and i >= 37 else i  # one in four: a customer seen before
        title, description = self.texts[i % len(self.texts)]
        customer: dict[str, Any] = {"name": f"Customer {who}", "email": f"c{who}@example.com"}
        if who % 2:
            customer["phone"] = f"139{who:08d}"
        return {
            "kind": "complaint" if i % 3 else "service_request",
            "channel": rng.choice(_CHANNELS),
            "title": title[:200],
            "description": description,
            "customer": customer,
            "product": {"name": "电水壶", "model": "K-200", "order_number": f"A{i:07d}"},
            "demands": rng.sample(_DEMANDS, rng.randint(1, 2)),
            "category_id": self.agent.categories[who % len(self.agent.categories)],
        }


async def _drive(
    client: httpx.AsyncClient, bodies: Bodies, total: int, concurrency: int
) -> tuple[float, list[float], int]:
    """`total` intakes by `concurrency` clients: seconds, latencies, errors."""
    left, latencies, errors = total, [], 0

    async def one_client() -> None:
        nonlocal left, errors
        while left > 0:
            left -= 1
            begun = time.perf_counter()
            response = await client.post(
                "/api/v1/cases", json=bodies.take(), headers=bodies.agent.headers
            )
            if response.status_code == 201:
                latencies.append(time.perf_counter() - begun)
            else:
                errors += 1
                if errors <= 3:
                    print(f"  {response.status_code} {response.text[:200]}", flush=True)

    begun = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return time.perf_counter() - begun, latencies, errors


async def _drained(monitor: asyncpg.Connection, tenant_id: uuid.UUID, limit: float = 120.0) -> None:
    """Until no e-mail or outbox message of the run is pending. (Through the indexes
    the app has for that, so that this script's own reads stay out of the figures.)"""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        pending = await monitor.fetchval(
            "SELECT (SELECT count(*) FROM notifications WHERE tenant_id = $1 "
            "AND status = 'pending') + (SELECT count(*) FROM outbox_messages "
            "WHERE status = 'pending')",
            tenant_id,
        )
        if not pending:
            return
        await asyncio.sleep(0.2)
    print("  (background work still pending after 120 s)", flush=True)


async def _statements_available(monitor: asyncpg.Connection) -> bool:
    try:
        await monitor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await monitor.fetchval("SELECT count(*) FROM pg_stat_statements")
    except asyncpg.PostgresError:
        return False
    return True


async def run(args: argparse.Namespace) -> None:
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    with _support.superuser_url(args.database_url) as superuser:
        version = await _support.server_version(superuser)
        urls = await _support.prepare_database(superuser, DATABASE, fresh=True)
        folder = Path(tempfile.mkdtemp(prefix="closeloop-growth-"))
        try:
            rows = await _measure(args, sizes, superuser, urls, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            if not args.keep:
                await _support.drop_database(superuser, DATABASE)
    _report(args, version, rows)


async def _measure(
    args: argparse.Namespace, sizes: list[int], superuser: str, urls: Any, folder: Path
) -> list[Row]:
    from aiosmtpd.controller import Controller

    sink = MailSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    port = _free_port()
    operator = secrets.token_urlsafe(32)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CLOSELOOP_"))}
    env.pop("BROKER_URL", None)
    env.update(
        DATABASE_URL=urls.app_url,
        DATABASE_OWNER_URL=urls.owner_url,
        CLOSELOOP_SECRET_KEY=secrets.token_urlsafe(48),
        CLOSELOOP_OPERATOR_TOKEN=operator,
        CLOSELOOP_MASTER_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        CLOSELOOP_DATA_DIR=str(folder / "data"),
        CLOSELOOP_JWT_TTL_SECONDS="86400",
        SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
        LOG_FORMAT="json",
        LOG_LEVEL="WARNING",
    )
    owner = await asyncpg.connect(urls.owner_url)
    try:
        await owner.execute(_growth_seed.SETUP)
    finally:
        await owner.close()
    monitor = await asyncpg.connect(with_database(superuser, DATABASE))
    await monitor.execute("SET enable_seqscan = off")
    statements = await _statements_available(monitor)
    closeloop = str(Path(sys.executable).parent / "closeloop")
    with (folder / "serve.log").open("w") as log:
        server = await asyncio.create_subprocess_exec(
            closeloop,
            "serve",
            "--port",
            str(port),
            env=env,
            cwd=folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        limits = httpx.Limits(max_connections=args.concurrency + 4)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
            await _ready(client, server)
            agent = await _make_agent(client, operator)
            texts = _support.complaint_texts()
            bodies = Bodies(agent, texts)
            meter = Meter(monitor, server.pid, statements)
            cipher = await _cipher(env, urls.app_url, agent.tenant_id)
            # A few cases made by the app: the rows the seeding copies.
            await _drive(client, bodies, 20, 1)
            rows: list[Row] = []
            seeded = 0
            for size in sizes:
                if size > seeded:
                    print(f"seeding the tenant's history up to {size:,} cases ...", flush=True)
                    begun = time.perf_counter()
                    await _growth_seed.seed_history(
                        urls.owner_url,
                        agent.tenant_id,
                        cipher,
                        texts,
                        start=seeded,
                        count=size - seeded,
                    )
                    seeded = size
                    print(f"  in {time.perf_counter() - begun:.0f} s", flush=True)
                if args.analyze:
                    await monitor.execute("ANALYZE")
                print(f"{size:,} cases: {args.warmup} warm-up, {args.intakes} measured", flush=True)
                await _drive(client, bodies, args.warmup, args.concurrency)
                await _drained(monitor, agent.tenant_id)
                await meter.start()
                seconds, latencies, errors = await _drive(
                    client, bodies, args.intakes, args.concurrency
                )
                await _drained(monitor, agent.tenant_id)
                db_ms, app_ms, statements_ms, top_idx, top = await meter.stop(args.intakes)
                rows.append(
                    Row(
                        size,
                        len(latencies) / seconds,
                        1000 * _support.percentile(sorted(latencies), 50),
                        db_ms,
                        app_ms,
                        statements_ms,
                        top_idx,
                        top,
                        errors,
                    )
                )
                _print_row(rows[-1])
            print(f"e-mails received by the SMTP server: {sink.count}", flush=True)
            return rows
    finally:
        await monitor.close()
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 30)
        except TimeoutError:
            server.kill()
            await server.wait()
        smtp.stop()


async def _ready(client: httpx.AsyncClient, server: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if server.returncode is not None:
            raise SystemExit("closeloop serve exited during start-up")
        with contextlib.suppress(httpx.TransportError):
            if (await client.get("/health/ready")).status_code == 200:
                return
        await asyncio.sleep(0.1)
    raise SystemExit("closeloop serve was not ready within 60 s")


async def _cipher(env: dict[str, str], app_url: str, tenant_id: uuid.UUID) -> Any:
    """The tenant's cipher, as the app has it (the same master key)."""
    settings = load_settings(env, dotenv=Path(os.devnull))
    engine = create_engine(app_url, pool_size=1)
    try:
        async with transaction(sessionmaker(engine), tenant_id) as session:
            return await cipher_for(session, settings)
    finally:
        await engine.dispose()


def _print_row(row: Row) -> None:
    statements = f", statements {row.statements_ms:.2f} ms" if row.statements_ms else ""
    print(
        f"  {row.rate:.1f} intakes/s, p50 {row.p50_ms:.0f} ms; CPU per intake: database "
        f"{row.db_ms:.2f} ms, app {row.app_ms:.2f} ms{statements}; errors {row.errors}",
        flush=True,
    )
    print(
        "  index entries (and sequentially read rows) per intake: "
        + ", ".join(f"{name} {count:,.0f}" for name, count in row.top_indexes),
        flush=True,
    )
    for calls, ms, query in row.top_statements:
        print(f"    {calls:5.2f} x {ms:6.3f} ms  {query[:110]}", flush=True)


def _report(args: argparse.Namespace, version: str, rows: list[Row]) -> None:
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"PostgreSQL {version}; {os.cpu_count()} CPUs, load average {load}; "
        f"{args.concurrency} clients, {args.intakes} intakes per size; "
        f"ANALYZE after seeding: {'yes' if args.analyze else 'no'}"
    )
    print(f"{'cases':>9}{'intakes/s':>11}{'p50 ms':>8}{'db ms':>8}{'app ms':>8}{'stmt ms':>9}")
    for row in rows:
        statements = f"{row.statements_ms:>9.2f}" if row.statements_ms is not None else f"{'-':>9}"
        print(
            f"{row.size:>9,}{row.rate:>11.1f}{row.p50_ms:>8.0f}{row.db_ms:>8.2f}"
            f"{row.app_ms:>8.2f}{statements}"
        )
    first = rows[0]
    verdicts = []
    for label, value in (("database", lambda r: r.db_ms), ("app", lambda r: r.app_ms)):
        worst = max(abs(value(r) / value(first) - 1) for r in rows) if value(first) else 0.0
        verdicts.append(f"{label} CPU per intake within {100 * worst:.0f} % of the first size")
        verdicts[-1] += " (flat)" if worst <= FLAT else f" (NOT flat within {100 * FLAT:.0f} %)"
    print("; ".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="0,50000,200000", help="cases in the tenant")
    parser.add_argument("--intakes", type=int, default=1000, help="measured intakes per size")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up intakes per size")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--analyze", action="store_true", help="ANALYZE after seeding")
    parser.add_argument("--database-url", help="superuser URL of a server (default DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE}")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
