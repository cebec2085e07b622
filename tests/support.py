"""Helpers shared by the tests: tenants made through the real API, logins, headers."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from closeloop.provision import Provisioned
from closeloop.settings import Settings

OPERATOR_TOKEN = "test-operator-token-0123456789abcdef"
OPERATOR = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
PASSWORD = "correct horse battery"

Client = AsyncTestClient[Litestar]


def shared_data_dir() -> Path:
    """The shared complaint data (read-only, never copied into the repository):
    `CLOSELOOP_SHARED_DATA`, else `../shared/data` beside the checkout."""
    configured = os.environ.get("CLOSELOOP_SHARED_DATA")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclasses.dataclass
class TenantHandle:
    """A tenant made through the operator API, with its first admin logged in."""

    id: uuid.UUID
    slug: str
    admin_email: str
    admin_id: uuid.UUID
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


async def login(client: httpx.AsyncClient, slug: str, email: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"tenant": slug, "email": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def make_staff(
    client: httpx.AsyncClient,
    tenant: TenantHandle,
    *roles: str,
    pii: bool = False,
    display_name: str | None = None,
    department_id: str | None = None,
) -> tuple[uuid.UUID, str]:
    """A new user of `tenant` with `roles` (and `pii` if asked, in `department_id` if
    given), made through the API; their id and e-mail (the password is PASSWORD)."""
    email = f"{'-'.join(roles)}-{uuid.uuid4().hex[:8]}@{tenant.slug}.example.com"
    response = await client.post(
        "/api/v1/users/",
        headers=tenant.headers,
        json={
            "email": email,
            "display_name": display_name or email,
            "password": PASSWORD,
            "roles": list(roles),
            "permissions": ["pii"] if pii else [],
            **({"department_id": department_id} if department_id else {}),
        },
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"]), email


async def make_tenant(client: httpx.AsyncClient, slug: str, **profile: str) -> TenantHandle:
    """A tenant made through the operator API (`profile`: `locale`, `timezone`, `name`)."""
    email = f"admin@{slug}.example.com"
    response = await client.post(
        "/platform/v1/tenants/",
        headers=OPERATOR,
        json={
            "slug": slug,
            "name": f"{slug} Ltd",
            "admin_email": email,
            "admin_password": PASSWORD,
            **profile,
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return TenantHandle(
        id=uuid.UUID(body["id"]),
        slug=slug,
        admin_email=email,
        admin_id=uuid.UUID(body["admin_user_id"]),
        token=await login(client, slug, email),
    )


async def category_ids(client: Any, tenant: TenantHandle) -> dict[str, str]:
    """The tenant's categories through the API: code → id (cases and filters take ids)."""
    response = await client.get("/api/v1/categories", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {item["code"]: str(item["id"]) for item in items}


@contextlib.contextmanager
def sql_statements() -> Iterator[list[str]]:
    """Every SQL statement this process sends inside the block, whitespace folded: those
    SQLAlchemy runs (engine events) and those sent straight through the driver
    (`closeloop.rows`: asyncpg's query logger, on every connection checked out inside
    the block)."""
    seen: list[str] = []

    def fold(statement: str) -> None:
        seen.append(re.sub(r"\s+", " ", statement).strip())

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        fold(statement)

    def logged(query: Any) -> None:
        if query.query.rstrip(";") not in ("BEGIN", "COMMIT", "ROLLBACK"):
            fold(query.query)

    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(logged)

    def checkin(dbapi_connection: Any, record: Any) -> None:
        if dbapi_connection is not None:
            dbapi_connection.driver_connection.remove_query_logger(logged)

    listeners = ((Engine, "before_cursor_execute", before), (Pool, "checkout", checkout))
    listeners += ((Pool, "checkin", checkin),)
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield seen
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def fields_of(error: dict[str, Any]) -> list[str | None]:
    """The fields an error names, in order: `details.fields[*].field` of an error
    (`body["error"]`) or of a whole error body."""
    error = error.get("error", error)
    details = error.get("details") or {}
    assert isinstance(details, dict), error
    return [problem["field"] for problem in details.get("fields", [])]


@contextlib.asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app started on the calling test's event loop, with a client whose requests run
    really at once (Litestar's test client runs one request at a time, on a thread of its
    own): for tests about concurrency, such as a pool shared by many requests."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def run() -> None:  # the lifespan starts and ends in one task, as a server's does
        async with app.lifespan():
            started.set()
            await stop.wait()

    running, waiting = asyncio.create_task(run()), asyncio.create_task(started.wait())
    await asyncio.wait({running, waiting}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if running.done():
        running.result()  # start-up failed: raise its error
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local"
        ) as client:
            yield client
    finally:
        stop.set()
        await running


def run_closeloop(
    settings: Settings, database: Provisioned, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """The real `closeloop` command on the test database with the suite's keys (none of
    the caller's CLOSELOOP_ or DATABASE_ settings), `env` added."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLOSELOOP_", "DATABASE_"))}
    clean.update(
        DATABASE_URL=database.app_url,
        DATABASE_OWNER_URL=database.owner_url,
        CLOSELOOP_SECRET_KEY=settings.secret_key,
        CLOSELOOP_MASTER_KEY=settings.master_key or "",
        **env,
    )
    return subprocess.run(
        [str(Path(sys.executable).parent / "closeloop"), *args],
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PLATFORM_DIR = Path(__file__).resolve().parents[1] / "platform"


async def run_cli(settings: Any, *args: str) -> tuple[int, str]:
    """`closeloop ARGS...` in a child process on the test database, with `settings`' keys;
    answers its exit code and its output (standard output, then standard error)."""
    import sys

    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(PLATFORM_DIR),
        "DATABASE_URL": str(settings.database_url),
        "CLOSELOOP_SECRET_KEY": settings.secret_key,
        "CLOSELOOP_MASTER_KEY": str(settings.master_key),
        "CLOSELOOP_DATA_DIR": str(settings.data_dir),
        "LOG_FORMAT": "console",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "closeloop.cli",
        *args,
        env=env,
        cwd=str(PLATFORM_DIR),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


@contextlib.asynccontextmanager
async def import_worker(app_url: str, settings: Settings) -> AsyncIterator[Any]:
    """A broker and a worker running the actors (`run_import` among them) with `settings`;
    hand them the outbox with `Relay(engine, broker).drain()`. Stopped on exit."""
    from closeloop.queue import runtime
    from closeloop.queue.brokers import BrokerConfig, make_broker, start_worker

    runtime.configure(app_url, settings=settings, pool_size=2)
    broker = make_broker(BrokerConfig(min_backoff_ms=10, max_backoff_ms=50))
    worker = await asyncio.to_thread(start_worker, broker, threads=2, timeout_ms=100)
    try:
        yield broker
    finally:
        await asyncio.to_thread(worker.stop, 10_000)
        broker.close()
        runtime.reset()
