"""Intake throughput and latency: `POST /api/v1/cases` against a bare INSERT + COMMIT.

    .venv/bin/python bench/intake.py [--requests 2000] [--concurrency 32] [--tenants 1]
                                     [--rounds 4] [--unloaded 200] [--workers 1] [--profile]
                                     [--keep] [--database-url postgresql://postgres@host/postgres]

A fresh database (`closeloop_bench_intake`) is provisioned on the server and migrated.
The real app (`create_app`) is served by uvicorn in a separate process on a free port,
with one extra route that only this benchmark mounts: `POST /bench/bare` takes the same
JSON body and does one `INSERT` + `COMMIT` through a small asyncpg pool into a table the
benchmark creates as the owner role. A tenant (or `--tenants N`, the clients spread over
them) gets an agent who logs in; then `--concurrency` clients (httpx, keep-alive, in
this process) send a warm-up and `--requests` requests to each endpoint, in `--rounds`
alternating rounds; then a single client sends `--unloaded` requests to each (the
latency of one request on an otherwise idle app). `--workers N` serves the app from N
uvicorn worker processes, as `closeloop serve --workers N` does, each with its own pools.

Printed: the rate and p50/p99 latency of each endpoint, their ratio, whether the
issue's target (ratio >= 0.5, p99 < 50 ms) is met, and the CPU time per request of
the client, the app processes (all workers together) and the database backends (where
the server is local).
`--profile` also times every SQL statement inside the app and prints the top costs.
Nothing is asserted: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import random
import secrets
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _support
import asyncpg
import httpx
from litestar import Litestar, post
from litestar.datastructures import State

from closeloop.identity.access import public
from closeloop.settings import Settings

DATABASE = "closeloop_bench_intake"
BARE_TABLE = "bench_bare"
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
PASSWORD = "bench-password-0123"  # noqa: S105 - made-up tenants of a throwaway database
PHONES = 500  # distinct customers: some send more than one case, as in life


# --- the app side (runs in the server process, or in each of its workers) ---------

# How the server process tells its uvicorn workers (spawned processes that import this
# module as `intake` and call `bench_app`) what to build.
SETTINGS_ENV = "CLOSELOOP_BENCH_SETTINGS"  # the app's settings, as JSON
FOLDER_ENV = "CLOSELOOP_BENCH_FOLDER"  # where each worker says it is ready, and profiles
PROFILE_ENV = "CLOSELOOP_BENCH_PROFILE"  # "1": time the SQL statements
WORKERS_ENV = "CLOSELOOP_BENCH_WORKERS"


@post(
    "/bench/bare",
    status_code=201,
    include_in_schema=False,
    opt=public("the benchmark's baseline; mounted only by this benchmark"),
)
async def bare_insert(data: dict[str, Any], state: State) -> dict[str, str]:
    """One INSERT + COMMIT through asyncpg: the floor any write endpoint stands on."""
    pool: asyncpg.Pool = state.bare_pool
    row_id = uuid.uuid4()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            f"INSERT INTO {BARE_TABLE} (id, title, description) VALUES ($1, $2, $3)",  # noqa: S608
            row_id,
            data.get("title", ""),
            data.get("description", ""),
        )
    return {"id": str(row_id)}


def bench_app() -> Litestar:
    """The app of one server process: `create_app` plus `POST /bench/bare` and its pool.

    uvicorn's factory with `--workers N`; the settings come from the environment that
    `_serve` set, so every worker builds the same app (the same keys sign and read the
    agents' tokens). Without BROKER_URL `create_app` runs no background work at all
    (that is the command line's `background=True`), so N workers run none either: the
    outbox of this throwaway database only fills up.
    """
    from closeloop.logs import configure_logging
    from closeloop.web.app import create_app

    configure_logging(log_format="json", level="WARNING")
    raw = json.loads(os.environ[SETTINGS_ENV])
    settings = Settings(**{**raw, "data_dir": Path(raw["data_dir"])})
    folder = Path(os.environ[FOLDER_ENV])
    workers = int(os.environ[WORKERS_ENV])
    app = create_app(settings, extra_route_handlers=[bare_insert])
    # Connections open on demand up to max_size, so N workers together hold about as
    # many as the clients keep busy.
    min_size = max(1, settings.db_pool_size // workers)

    async def open_pool(app: Litestar) -> None:
        dsn = settings.database_url
        assert dsn is not None
        app.state.bare_pool = await asyncpg.create_pool(
            dsn, min_size=min_size, max_size=2 * settings.db_pool_size
        )
        await asyncio.to_thread((folder / f"ready-{os.getpid()}").touch)

    async def close_pool(app: Litestar) -> None:
        await app.state.bare_pool.close()

    app.on_startup.append(open_pool)
    app.on_shutdown.append(close_pool)
    if os.environ.get(PROFILE_ENV) == "1":
        app.on_shutdown.append(_install_sql_timing(str(folder / f"sql-profile-{os.getpid()}.json")))
    return app


def _serve(settings: Settings, port: int, folder: str, profile: bool, workers: int) -> None:
    import uvicorn

    os.environ[SETTINGS_ENV] = json.dumps(dataclasses.asdict(settings), default=str)
    os.environ[FOLDER_ENV] = folder
    os.environ[PROFILE_ENV] = "1" if profile else ""
    os.environ[WORKERS_ENV] = str(workers)
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "log_config": None,
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(bench_app(), **options)
        return
    # The workers are spawned: they get this process's sys.path, which must hold bench/.
    bench = str(Path(__file__).resolve().parent)
    if bench not in sys.path:
        sys.path.insert(0, bench)
    uvicorn.run("intake:bench_app", factory=True, workers=workers, **options)


def _install_sql_timing(path: str) -> Any:
    """Time every statement the app sends (wall time, waits included): those SQLAlchemy
    runs (engine events) and those sent straight through the driver (`closeloop.rows`,
    and the BEGIN and COMMIT of every transaction: asyncpg's query logger on each
    connection the pool hands out)."""
    import re

    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import Pool

    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    started: dict[int, float] = {}

    def add(statement: str, seconds: float) -> None:
        entry = totals[re.sub(r"\s+", " ", statement).strip()[:110]]
        entry[0] += 1
        entry[1] += seconds

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        begun = started.pop(id(cursor), None)
        if begun is not None:
            add(statement, time.perf_counter() - begun)

    def logged(query: Any) -> None:
        add(query.query, query.elapsed)

    @event.listens_for(Pool, "checkout")
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if not record.info.get("bench_logged"):
            dbapi_connection.driver_connection.add_query_logger(logged)
            record.info["bench_logged"] = True

    async def dump(app: Litestar) -> None:
        await asyncio.to_thread(Path(path).write_text, json.dumps(totals))

    return dump


# --- the client side ----------------------------------------------------------------


@dataclasses.dataclass
class Phase:
    name: str
    ok: int
    seconds: float
    latencies: list[float]
    errors: collections.Counter[str]
    cpu: collections.Counter[str]
    app_cpu: collections.Counter[int]  # by process: how evenly the workers were loaded

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return 1000 * _support.percentile(sorted(self.latencies), q)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_ready(
    base: str, server: multiprocessing.process.BaseProcess, folder: Path, workers: int
) -> None:
    """Every worker has started (a keep-alive connection stays with the worker that took
    it: opened while only some were up, the clients would never reach the others)."""
    async with httpx.AsyncClient(base_url=base) as client:
        for _ in range(1200):
            if not server.is_alive():
                raise SystemExit("the app process exited during start-up")
            ready = len(await asyncio.to_thread(_files, folder, "ready-*"))
            try:
                live = (await client.get("/health/live")).status_code == 200
            except httpx.TransportError:
                live = False
            if live and ready >= workers:
                return
            await asyncio.sleep(0.1)
    raise SystemExit(f"the app's {workers} worker(s) were not all up within 120 s")


def _files(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


def _stop(server: multiprocessing.process.BaseProcess) -> None:
    """SIGTERM (uvicorn passes it on to its workers, which shut down and write their
    profiles); whatever is left after 30 s is killed, workers first."""
    import psutil

    try:
        tree = psutil.Process(server.pid or 0).children(recursive=True)
    except psutil.Error:
        tree = []
    server.terminate()
    server.join(30)
    for proc in [*tree, *([psutil.Process(server.pid)] if server.is_alive() else [])]:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    server.join()


def _check(response: httpx.Response, expect: int = 200) -> Any:
    if response.status_code != expect:
        raise SystemExit(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response.json()


@dataclasses.dataclass
class Agent:
    headers: dict[str, str]
    categories: list[str]


async def _make_agents(client: httpx.AsyncClient, operator: str, tenants: int) -> list[Agent]:
    """Tenants made through the operator API, each with an agent who logged in."""
    agents = []
    run = secrets.token_hex(3)
    for number in range(tenants):
        slug = f"bench-{run}-{number}"
        admin = f"admin@{slug}.example.com"
        _check(
            await client.post(
                "/platform/v1/tenants/",
                headers={"Authorization": f"Bearer {operator}"},
                json={"slug": slug, "name": slug, "admin_email": admin, "admin_password": PASSWORD},
            ),
            201,
        )
        admin_headers = await _login(client, slug, admin)
        agent = f"agent@{slug}.example.com"
        _check(
            await client.post(
                "/api/v1/users/",
                headers=admin_headers,
                json={
                    "email": agent,
                    "display_name": "Bench agent",
                    "password": PASSWORD,
                    "roles": ["agent"],
                },
            ),
            201,
        )
        body = _check(await client.get("/api/v1/categories", headers=admin_headers))
        items = body["items"] if isinstance(body, dict) else body
        agents.append(Agent(await _login(client, slug, agent), [str(i["id"]) for i in items]))
    return agents


async def _login(client: httpx.AsyncClient, slug: str, email: str) -> dict[str, str]:
    body = _check(
        await client.post(
            "/api/v1/auth/login", json={"tenant": slug, "email": email, "password": PASSWORD}
        )
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


_CHANNELS = ("phone", "web", "app", "email", "chat", "social")
_DEMANDS = ("refund", "exchange", "repair", "apology", "compensation")


def _bodies(count: int, texts: list[tuple[str, str]], agent: Agent, seed: int) -> list[bytes]:
    """Intake bodies as an agent would send them, JSON-encoded ahead of time."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    now = dt.datetime.now(dt.UTC)
    out = []
    for i in range(count):
        title, description = texts[(seed + i) % len(texts)]
        phone = f"139{rng.randrange(PHONES):08d}"
        body = {
            "kind": rng.choice(("complaint", "complaint", "service_request", "inquiry")),
            "channel": rng.choice(_CHANNELS),
            "title": title[:200],
            "description": description,
            "received_at": (now - dt.timedelta(minutes=rng.randrange(600))).isoformat(),
            "customer": {"nickname": f"客户{phone[-4:]}", "name": "王小明", "phone": phone},
            "product": {"name": "电水壶", "model": "K-200", "order_number": f"A{i:06d}"},
            "demands": rng.sample(_DEMANDS, rng.randint(1, 2)),
            "category_id": rng.choice(agent.categories),
        }
        out.append(json.dumps(body, ensure_ascii=False).encode())
    return out


class CpuMeter:
    """CPU seconds used by this process, the app's processes (the server process and its
    uvicorn workers, summed) and the benchmark database's backends (those connected when
    `restart()` ran; a server on another host gives none)."""

    def __init__(self, server_pid: int, superuser: str) -> None:
        self._server_pid = server_pid
        self._superuser = superuser
        self._procs: dict[str, list[Any]] = {}
        self._start: dict[tuple[str, int], float] = {}

    async def restart(self) -> None:
        import psutil

        self._procs = {"client": [psutil.Process()], "app": [], "db": []}
        for name, pids in (
            ("app", _process_tree(self._server_pid)),
            ("db", await _backend_pids(self._superuser)),
        ):
            for pid in pids:
                try:
                    proc = psutil.Process(pid)
                    proc.cpu_times()
                except (psutil.Error, OSError):
                    continue
                self._procs[name].append(proc)
        self._start = self._read()

    def _read(self) -> dict[tuple[str, int], float]:
        out = {}
        for name, procs in self._procs.items():
            for proc in procs:
                try:
                    times = proc.cpu_times()
                except Exception:  # noqa: S112 - a backend may have gone
                    continue
                out[name, proc.pid] = times.user + times.system
        return out

    def used(self) -> tuple[dict[str, float], dict[int, float]]:
        """Seconds by kind (client, app, db), and the app's by process."""
        end = self._read()
        out: dict[str, float] = {name: 0.0 for name, procs in self._procs.items() if procs}
        app: dict[int, float] = {}
        for key, seconds in end.items():
            if key in self._start:
                out[key[0]] += seconds - self._start[key]
                if key[0] == "app":
                    app[key[1]] = seconds - self._start[key]
        return out, app


def _process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (with `--workers N`, uvicorn's worker processes)."""
    import psutil

    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.Error:
        return [pid]


async def _backend_pids(superuser: str) -> list[int]:
    conn = await asyncpg.connect(superuser)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", DATABASE)
        return [r["pid"] for r in rows]
    finally:
        await conn.close()


async def _drive(
    client: httpx.AsyncClient,
    path: str,
    bodies: list[list[bytes]],
    headers: list[dict[str, str]],
    total: int,
    concurrency: int,
) -> tuple[int, float, list[float], collections.Counter[str]]:
    """`total` requests by `concurrency` clients; client i uses bodies[i % n], headers[i % n]."""
    taken = 0
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()

    async def one_client(index: int) -> None:
        nonlocal taken
        mine = bodies[index % len(bodies)]
        request_headers = {**headers[index % len(headers)], "Content-Type": "application/json"}
        while taken < total:
            body = mine[taken % len(mine)]
            taken += 1
            begun = time.perf_counter()
            try:
                response = await client.post(path, content=body, headers=request_headers)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                continue
            elapsed = time.perf_counter() - begun
            if response.status_code in (200, 201):
                latencies.append(elapsed)
            else:
                errors[f"{response.status_code} {response.text[:160]}"] += 1

    begun = time.perf_counter()
    await asyncio.gather(*(one_client(i) for i in range(concurrency)))
    return len(latencies), time.perf_counter() - begun, latencies, errors


async def _phases(
    client: httpx.AsyncClient,
    bodies: list[list[bytes]],
    headers: list[dict[str, str]],
    requests: int,
    concurrency: int,
    rounds: int,
    meter: CpuMeter,
) -> tuple[Phase, Phase]:
    """Intake and bare, `requests` each, in alternating rounds: a neighbour's load on a
    shared machine then falls on both alike."""
    phases = {
        name: Phase(
            name, 0, 0.0, [], collections.Counter(), collections.Counter(), collections.Counter()
        )
        for name in ("intake", "bare")
    }
    for number in range(rounds):
        count = requests // rounds + (1 if number < requests % rounds else 0)
        for name, path in (("intake", "/api/v1/cases"), ("bare", "/bench/bare")):
            await meter.restart()
            ok, seconds, latencies, errors = await _drive(
                client, path, bodies, headers, count, concurrency
            )
            phase = phases[name]
            phase.ok += ok
            phase.seconds += seconds
            phase.latencies += latencies
            phase.errors.update(errors)
            used, app_used = meter.used()
            phase.cpu.update(used)
            phase.app_cpu.update(app_used)
    return phases["intake"], phases["bare"]


async def run(args: argparse.Namespace) -> None:
    with _support.superuser_url(args.database_url) as superuser:
        version = await _support.server_version(superuser)
        urls = await _support.prepare_database(superuser, DATABASE, fresh=True)
        owner = await asyncpg.connect(urls.owner_url)
        try:
            await owner.execute(
                f"CREATE TABLE {BARE_TABLE} (id uuid PRIMARY KEY, title text NOT NULL, "
                "description text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
            )
            await owner.execute(f"GRANT SELECT, INSERT ON {BARE_TABLE} TO {_support.APP_ROLE}")
        finally:
            await owner.close()
        with tempfile.TemporaryDirectory(prefix="closeloop-bench-") as folder:
            try:
                await _measure(args, superuser, urls, Path(folder), version)
            finally:
                if not args.keep:
                    await _support.drop_database(superuser, DATABASE)


async def _measure(
    args: argparse.Namespace, superuser: str, urls: Any, folder: Path, version: str
) -> None:
    operator = secrets.token_urlsafe(32)
    settings = _support.app_settings(urls, folder / "data", operator_token=operator)
    port = _free_port()
    # Not a daemon: with --workers N it has children of its own (`_stop` ends them all).
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(settings, port, str(folder), args.profile, args.workers)
    )
    server.start()
    base = f"http://127.0.0.1:{port}"
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency
    )
    try:
        await _wait_ready(base, server, folder, args.workers)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
            agents = await _make_agents(client, operator, args.tenants)
            texts = _support.complaint_texts()
            per_agent = max(64, (args.requests + args.warmup) // len(agents) + 1)
            bodies = [_bodies(per_agent, texts, a, seed=n) for n, a in enumerate(agents)]
            headers = [a.headers for a in agents]
            print(
                f"warm-up: {args.warmup} requests to each endpoint at {args.concurrency} clients",
                flush=True,
            )
            for path in ("/bench/bare", "/api/v1/cases"):
                await _drive(client, path, bodies, headers, args.warmup, args.concurrency)
            meter = CpuMeter(server.pid or 0, superuser)
            print(f"measuring: {args.requests} requests to each endpoint", flush=True)
            phases = [
                *await _phases(
                    client, bodies, headers, args.requests, args.concurrency, args.rounds, meter
                ),
                *await _phases(client, bodies, headers, args.unloaded, 1, args.rounds, meter),
            ]
    finally:
        await asyncio.to_thread(_stop, server)
    _report(args, version, *phases)
    profiles = await asyncio.to_thread(_files, folder, "sql-profile-*.json")
    if args.profile and profiles:
        intakes = phases[0].ok + phases[2].ok + args.warmup
        _report_sql(await asyncio.to_thread(_merge_profiles, profiles), intakes)


def _report(
    args: argparse.Namespace,
    version: str,
    intake: Phase,
    bare: Phase,
    intake_alone: Phase,
    bare_alone: Phase,
) -> None:
    print()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"PostgreSQL {version}; {os.cpu_count()} CPUs, load average {load}; {args.workers} app "
        f"worker process(es); {args.tenants} tenant(s); {args.requests} requests per endpoint "
        f"after {args.warmup} warm-up"
    )
    print(f"{'endpoint':<22}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
    rows = (
        ("POST /api/v1/cases", args.concurrency, intake),
        ("POST /bench/bare", args.concurrency, bare),
        ("POST /api/v1/cases", 1, intake_alone),
        ("POST /bench/bare", 1, bare_alone),
    )
    for label, clients, phase in rows:
        print(
            f"{label:<22}{clients:>8}{phase.rate:>9.1f}{phase.p(50):>9.1f}{phase.p(99):>9.1f}"
            f"{sum(phase.errors.values()):>8}"
        )
        for error, count in phase.errors.most_common(3):
            print(f"    {count} x {error}")
    ratio = intake.rate / bare.rate if bare.rate else float("nan")
    print(f"ratio intake/bare at {args.concurrency} clients: {ratio:.2f}")
    cpu = "  ".join(
        f"{phase.name}: "
        + ", ".join(f"{k} {1000 * v / max(phase.ok, 1):.2f}" for k, v in phase.cpu.items())
        for phase in (intake, bare)
    )
    print(f"CPU ms per request at {args.concurrency} clients  {cpu}")
    if args.workers > 1:
        split = "  ".join(
            f"{phase.name}: "
            + " / ".join(
                f"{100 * v / max(sum(phase.app_cpu.values()), 1e-9):.0f}%"
                for _, v in phase.app_cpu.most_common()
            )
            for phase in (intake, bare)
        )
        print(f"app CPU by process (workers and their parent)  {split}")
    ratio_ok = ratio >= TARGET_RATIO
    p99_ok = intake.p(99) < TARGET_P99_MS
    print(
        f"target ratio >= {TARGET_RATIO}: {'met' if ratio_ok else 'NOT met'}; "
        f"target intake p99 < {TARGET_P99_MS:.0f} ms at {args.concurrency} clients: "
        f"{'met' if p99_ok else 'NOT met'}"
    )


def _merge_profiles(paths: list[Path]) -> dict[str, list[float]]:
    """The statement timings of all workers, added up."""
    totals: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for path in paths:
        for statement, (count, seconds) in json.loads(path.read_text()).items():
            totals[statement][0] += count
            totals[statement][1] += seconds
    return totals


def _report_sql(totals: dict[str, list[float]], intakes: int) -> None:
    print()
    print(f"SQL inside the app (wall time incl. lock waits), per intake over {intakes} intakes:")
    rows = sorted(totals.items(), key=lambda kv: -kv[1][1])
    statements = sum(
        count for text, (count, _) in rows if text.rstrip(";") not in ("BEGIN", "COMMIT")
    )
    print(f"  {statements / intakes:.1f} statements per intake besides BEGIN and COMMIT;")
    print("  the most expensive (counts are per intake; bare requests send no statement here):")
    for statement, (count, seconds) in rows[:12]:
        print(f"  {count / intakes:5.2f} x {1000 * seconds / intakes:7.2f} ms  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per endpoint")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds of intake and bare requests"
    )
    parser.add_argument(
        "--unloaded", type=int, default=200, help="requests per endpoint from a single client"
    )
    parser.add_argument("--tenants", type=int, default=1, help="tenants the clients spread over")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn worker processes serving the app"
    )
    parser.add_argument("--database-url", help="superuser URL of a server (default DATABASE_URL)")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE}")
    parser.add_argument("--profile", action="store_true", help="time the app's SQL statements")
    args = parser.parse_args()
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
