"""What both benchmarks share: a database server, a fresh or reused benchmark database,
settings for the app, percentiles, and a pool of real complaint texts.

The server is `--database-url`, else `DATABASE_URL` (a superuser URL: the benchmark
creates its own database and roles there), else an embedded PostgreSQL in a temporary
folder that is removed afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import itertools
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))

from closeloop import migrate  # noqa: E402
from closeloop.db import tenant_scope  # noqa: E402
from closeloop.provision import Provisioned, provision  # noqa: E402
from closeloop.settings import Settings, load_settings  # noqa: E402

OWNER_ROLE = "closeloop_bench_owner"
APP_ROLE = "closeloop_bench_app"
# Shared data lives next to the repository and is never copied into it.
DATA = ROOT.parent / "shared" / "data"
HEIMAO = DATA / "zh" / "heimao_tousu_sina_2020.csv"
CFPB = DATA / "cfpb" / "cfpb_combined_full_schema.csv"


@contextlib.contextmanager
def superuser_url(given: str | None) -> Iterator[str]:
    """`given`, else DATABASE_URL, else a temporary embedded server (stopped at the end)."""
    url = given or os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from closeloop.embedded import EmbeddedPostgres

    folder = Path(tempfile.mkdtemp(prefix="closeloop-bench-pg-"))
    server = EmbeddedPostgres(folder)
    print("no DATABASE_URL: starting an embedded PostgreSQL in a temporary folder", flush=True)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def database_exists(superuser: str, name: str) -> bool:
    conn = await asyncpg.connect(superuser)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


async def prepare_database(superuser: str, name: str, *, fresh: bool) -> Provisioned:
    """Provision `name` (dropped first when `fresh`) and bring it to the newest schema."""
    urls = await provision(
        superuser, database=name, owner_role=OWNER_ROLE, app_role=APP_ROLE, drop_existing=fresh
    )
    # Alembic runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(migrate.upgrade, urls.owner_url, APP_ROLE)
    return urls


async def drop_database(superuser: str, name: str) -> None:
    conn = await asyncpg.connect(superuser)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def app_settings(urls: Provisioned, data_dir: Path, *, operator_token: str) -> Settings:
    """Settings as a deployment would have them, with keys made up for this run."""
    master_key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    return load_settings(
        {
            "DATABASE_URL": urls.app_url,
            "DATABASE_OWNER_URL": urls.owner_url,
            "CLOSELOOP_SECRET_KEY": secrets.token_urlsafe(48),
            "CLOSELOOP_OPERATOR_TOKEN": operator_token,
            "CLOSELOOP_MASTER_KEY": master_key,
            "CLOSELOOP_DATA_DIR": str(data_dir),
            "CLOSELOOP_JWT_TTL_SECONDS": "86400",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
        },
        dotenv=Path(os.devnull),
    )


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(p * 10) - 1]


def _rows(path: Path, limit: int) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(itertools.islice(csv.DictReader(handle), limit))


# Used only when the shared data is not there.
_FALLBACK = [
    ("快递延误一周", "订单 A1001 承诺三天送达,实际一周后才到,包装破损。"),
    ("电水壶漏水", "购买的电水壶 K-200 使用两周后底部漏水,要求退货退款。"),
    ("Billing error", "I was charged twice for the same order and the refund never arrived."),
    ("自动续费未告知", "会员在我不知情的情况下开通了连续包月自动续费,没有任何短信告知。"),
]


def complaint_texts(*, chinese: int = 104, english: int = 300) -> list[tuple[str, str]]:
    """(title, description) pairs: the Heimao complaints and CFPB narratives, alternating."""
    zh = [
        (r["投诉标题"].strip(), r["投诉详情"].strip())
        for r in _rows(HEIMAO, chinese)
        if r["投诉标题"].strip() and r["投诉详情"].strip()
    ]
    en = []
    for row in _rows(CFPB, 20 * english):
        narrative = (row.get("Consumer complaint narrative") or "").strip()
        title = " / ".join(x for x in (row.get("Product"), row.get("Issue")) if x)
        if narrative and title:
            en.append((title[:200], narrative[:4000]))
        if len(en) >= english:
            break
    mixed = [t for pair in itertools.zip_longest(zh, en) for t in pair if t is not None]
    return mixed or list(_FALLBACK)


async def run_seeded(
    superuser_given: str | None,
    name: str,
    *,
    reuse: bool,
    drop: bool,
    seeded: Callable[[Provisioned], Awaitable[bool]],
    seed: Callable[[Provisioned], Awaitable[None]],
    measure: Callable[[Provisioned, str], Awaitable[None]] | None,
) -> None:
    """The database `name` seeded (reused when `reuse` and `seeded` says it holds the
    same seed), then `measure(urls, server version)` (None: seed only); dropped at the
    end when `drop`, else kept for `--reuse`."""
    with superuser_url(superuser_given) as superuser:
        version = await server_version(superuser)
        reuse = reuse and await database_exists(superuser, name)
        urls = await prepare_database(superuser, name, fresh=not reuse)
        if reuse and await seeded(urls):
            print(f"reusing the seeded database {name}", flush=True)
        else:
            if reuse:
                urls = await prepare_database(superuser, name, fresh=True)
            await seed(urls)
        if measure is None:
            return
        try:
            await measure(urls, version)
        finally:
            if drop:
                await drop_database(superuser, name)
            else:
                print(f"\nkept the database {name}; run again with --reuse to skip seeding")


async def explain(
    factory: async_sessionmaker[AsyncSession],
    tenant_id: uuid.UUID,
    statement: str,
    parameters: object,
) -> None:
    """Print EXPLAIN (ANALYZE, BUFFERS) of `statement` as the app sent it, in `tenant_id`."""
    async with factory() as session, session.begin():
        await tenant_scope(session, tenant_id)
        conn = await session.connection()
        plan = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
        for (line,) in plan:
            print(f"  {line}")
