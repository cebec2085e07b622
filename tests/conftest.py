"""Test harness: a real PostgreSQL, built by the migrations, used as the application role.

* `DATABASE_URL` set (CI: the machine's server on 127.0.0.1:5432): a superuser URL of a
  server on which the suite creates its own database and roles.
* unset: an embedded PostgreSQL in a temporary folder.

With `CLOSELOOP_REQUIRE_SERVICES=1` a server that cannot be reached fails the run;
otherwise the database tests are skipped with the reason.

Every test starts from empty tables. The app runs as the application role (not a
superuser, NOBYPASSRLS); only the harness and the tamper tests use the owner.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop import migrate
from closeloop.db import Base, create_engine
from closeloop.models import load_all_models
from closeloop.provision import Provisioned, provision, with_database
from closeloop.settings import Settings, load_settings
from closeloop.web.app import create_app
from support import OPERATOR_TOKEN, TenantHandle, make_tenant

SECRET_KEY = "test-secret-key-0123456789abcdef-0123456789"
MASTER_KEY = "dGVzdC1tYXN0ZXIta2V5LTMyLWJ5dGVzLWxvbmctLS0"  # 32 bytes, URL-safe base64
APP_ROLE = "closeloop_test_app"
OWNER_ROLE = "closeloop_test_owner"


def _require_services() -> bool:
    return os.environ.get("CLOSELOOP_REQUIRE_SERVICES") == "1"


def _unavailable(reason: str) -> None:
    if _require_services():
        pytest.fail(f"CLOSELOOP_REQUIRE_SERVICES=1 and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
async def superuser_url() -> AsyncIterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        try:
            await _ping(url)
        except (OSError, asyncpg.PostgresError) as exc:
            _unavailable(f"PostgreSQL at DATABASE_URL is not reachable: {exc}")
        yield url
        return
    from closeloop.embedded import EmbeddedPostgres

    # Not under pytest's temp root: a concurrent pytest run (as root) resets that root
    # to mode 0700 and would lock the server's own user out of its data folder.
    folder = Path(tempfile.mkdtemp(prefix="closeloop-test-pg-"))
    server = EmbeddedPostgres(folder)
    try:
        url = server.start()
    except Exception as exc:
        _unavailable(f"the embedded PostgreSQL did not start: {exc}")
    try:
        yield url
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def _ping(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    await conn.close()


def _test_database() -> str:
    return f"closeloop_test_{os.getpid()}"


@pytest.fixture(scope="session")
async def database(superuser_url: str) -> AsyncIterator[Provisioned]:
    name = _test_database()
    urls = await provision(
        superuser_url, database=name, owner_role=OWNER_ROLE, app_role=APP_ROLE, drop_existing=True
    )
    # Alembic's environment runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(migrate.upgrade, urls.owner_url, APP_ROLE)
    yield urls
    await _drop(superuser_url, name)


async def _drop(superuser_url: str, name: str) -> None:
    conn = await asyncpg.connect(superuser_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def app_engine(database: Provisioned) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.app_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def owner_engine(database: Provisioned) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database.owner_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def _cleaner(database: Provisioned, superuser_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection to the test database, kept for `clean_tables`."""
    conn = await asyncpg.connect(with_database(superuser_url, _test_database()))
    yield conn
    await conn.close()


@pytest.fixture
async def clean_tables(_cleaner: asyncpg.Connection) -> None:
    """Empty every table. Database test folders make this autouse in their own conftest.

    `DELETE` of every table in one script, as a superuser (row-level security is forced on
    the owner, and the audit trail's append-only triggers refuse a delete) with triggers,
    foreign-key checks included, off for the transaction: the suite's tables hold a few
    rows, and `TRUNCATE` of 43 tables (a new file for each table and index) cost about
    0.4 s a test, most of the suite's time.
    """
    load_all_models()
    deletes = "".join(f'DELETE FROM "{t.name}";' for t in Base.metadata.sorted_tables)
    await _cleaner.execute(
        f"BEGIN; SET LOCAL session_replication_role = replica; {deletes} COMMIT;"
    )


@pytest.fixture
def settings(database: Provisioned) -> Settings:
    return load_settings(
        {
            "DATABASE_URL": database.app_url,
            "DATABASE_OWNER_URL": database.owner_url,
            "CLOSELOOP_SECRET_KEY": SECRET_KEY,
            "CLOSELOOP_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "CLOSELOOP_MASTER_KEY": MASTER_KEY,
            "CLOSELOOP_DATA_DIR": "/nonexistent-closeloop-test",
        },
        dotenv=Path("/nonexistent/.env"),
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    # The app builds its own engine in its lifespan: the test client may run it on
    # another event loop than the test's, and a pool must stay on one loop.
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def tenant(client: AsyncTestClient[Litestar]) -> TenantHandle:
    return await make_tenant(client, "acme")


@pytest.fixture
async def other_tenant(client: AsyncTestClient[Litestar]) -> TenantHandle:
    return await make_tenant(client, "globex")
