"""Failures are answered, not crashed: every unexpected error is logged with its traceback
and answered with the request id; a body field named like a dependency is the client's
mistake; a busy or unreachable database is a 503 with `Retry-After`, never a 500, and
writes nothing; readiness tells the truth meanwhile."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import msgspec
import pytest
import structlog
from litestar import Litestar, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from closeloop.cases.models import Case
from closeloop.db import create_engine, sessionmaker, transaction
from closeloop.identity.access import public
from closeloop.logs import configure_logging
from closeloop.settings import Settings
from closeloop.web.app import create_app
from closeloop.web.deps import DbSession
from support import Client, TenantHandle, make_tenant, served

INTAKE = {
    "kind": "complaint",
    "channel": "phone",
    "title": "快递延误一周",
    "description": "订单 A1001 承诺三天送达,实际一周后才到。",
    "customer": {"nickname": "小王", "phone": "13812345678"},
}

TEST_ROUTE = public("a route of this test only")


class Echo(msgspec.Struct, forbid_unknown_fields=True):
    principal: dict[str, Any]  # named like the app's `principal` dependency


class Boom(RuntimeError):
    pass


class FailingMiddleware:
    """Raises before the route's own exception handling is reached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom("the middleware failed")


@post("/test/echo", status_code=200, opt=TEST_ROUTE)
async def echo(data: JSONBody[Echo]) -> dict[str, Any]:
    return {"principal": data.principal}


@get(
    "/test/bad-dependency",
    opt=TEST_ROUTE,
    dependencies={"answer": Provide(lambda: "many", sync_to_thread=False)},
)
async def bad_dependency(answer: NamedDependency[int]) -> dict[str, int]:
    return {"answer": answer}


@get("/test/failing-middleware", middleware=[FailingMiddleware], opt=TEST_ROUTE)
async def failing_middleware() -> dict[str, str]:
    return {}


@get("/test/hold", opt=TEST_ROUTE)
async def hold(db_session: DbSession) -> dict[str, int]:
    """Holds its pooled connection for a second, like a slow request."""
    await db_session.execute(text("SELECT pg_sleep(1)"))
    return {"held": 1}


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(
        settings, extra_route_handlers=[echo, bad_dependency, failing_middleware, hold]
    )


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the production log chain (JSON) writes while the test runs."""
    saved_config = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging(log_format="json", level="INFO")
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    root.handlers[:], root.level = saved_handlers, saved_level
    structlog.configure(**saved_config)


def _logged_500(log_output: io.StringIO, request_id: str) -> dict[str, Any]:
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    [line] = [x for x in lines if x.get("request_id") == request_id and x["level"] == "error"]
    return line


# -- every unexpected error is logged and carries the request id ----------------------------


async def test_a_body_field_named_settings_is_the_clients_mistake(
    client: Client, tenant: TenantHandle
) -> None:
    url = "/api/v1/plugins/intake_checks"
    before = (await client.get(url, headers=tenant.headers)).json()

    response = await client.put(url, headers=tenant.headers, json={"settings": []})

    assert response.status_code // 100 == 4, response.text
    assert response.json()["error"]["code"] != "internal_error"
    assert "settings" in json.dumps(response.json()["error"])
    assert (await client.get(url, headers=tenant.headers)).json() == before


async def test_a_body_field_named_like_any_dependency_is_the_clients_mistake(
    client: Client,
) -> None:
    response = await client.post("/test/echo", json={"principal": []})

    assert response.status_code // 100 == 4, response.text
    assert "principal" in json.dumps(response.json()["error"])
    assert (await client.post("/test/echo", json={"principal": {}})).status_code == 200


async def test_a_failed_dependency_is_a_logged_500_with_the_request_id(
    client: Client, log_output: io.StringIO
) -> None:
    response = await client.get("/test/bad-dependency")

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["error"]["details"] == {"request_id": request_id}
    line = _logged_500(log_output, request_id)
    assert line["event"] == "unexpected error"
    assert "Traceback" in line["exception"]
    assert "Expected `int`, got `str`" in line["exception"]


async def test_an_error_in_a_middleware_is_a_logged_500_with_the_request_id(
    client: Client, log_output: io.StringIO
) -> None:
    response = await client.get("/test/failing-middleware")

    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert response.json()["error"]["details"] == {"request_id": request_id}
    line = _logged_500(log_output, request_id)
    assert "Boom: the middleware failed" in line["exception"]


# -- a busy or unreachable database is a 503, never a 500 ------------------------------------


@pytest.fixture
def small_pool(settings: Settings) -> Settings:
    """Two connections at most, and a short wait for one."""
    return dataclasses.replace(settings, db_pool_size=1, db_pool_timeout_ms=200)


@pytest.fixture
async def busy_client(small_pool: Settings) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    app = create_app(small_pool, extra_route_handlers=[hold])
    async with served(app) as concurrent:
        yield app, concurrent


async def _case_count(app_engine: AsyncEngine, tenant: TenantHandle) -> int:
    async with transaction(sessionmaker(app_engine), tenant.id) as session:
        return int(await session.scalar(select(func.count()).select_from(Case)) or 0)


async def test_an_exhausted_pool_answers_503_with_retry_after_and_writes_nothing(
    busy_client: tuple[Litestar, httpx.AsyncClient], app_engine: AsyncEngine
) -> None:
    app, concurrent = busy_client
    tenant = await make_tenant(concurrent, "acme")
    engine: AsyncEngine = app.state.engine
    async with AsyncExitStack() as held:  # every connection of the pool, checked out
        for _ in range(2):
            conn: AsyncConnection = await held.enter_async_context(engine.connect())
            await conn.execute(text("SELECT 1"))
        answers = [
            await concurrent.post("/api/v1/cases", headers=tenant.headers, json=INTAKE)
            for _ in range(3)
        ]
        ready = await concurrent.get("/health/ready")

    assert [a.status_code for a in answers] == [503] * 3, answers[0].text
    for answer in answers:
        assert answer.headers["retry-after"] == "1"
        error = answer.json()["error"]
        assert error["code"] == "overloaded"
        assert error["details"]["request_id"] == answer.headers["x-request-id"]
    assert ready.status_code == 200  # the database answers: busy is not down
    assert await _case_count(app_engine, tenant) == 0
    retried = await concurrent.post("/api/v1/cases", headers=tenant.headers, json=INTAKE)
    assert retried.status_code == 201, retried.text
    assert await _case_count(app_engine, tenant) == 1


async def test_many_concurrent_requests_get_an_answer_or_a_503_never_a_500(
    busy_client: tuple[Litestar, httpx.AsyncClient], app_engine: AsyncEngine
) -> None:
    app, concurrent = busy_client
    tenant = await make_tenant(concurrent, "acme")

    async def intake() -> httpx.Response:
        return await concurrent.post("/api/v1/cases", headers=tenant.headers, json=INTAKE)

    async def slow() -> httpx.Response:
        return await concurrent.get("/test/hold", headers=tenant.headers)

    answers = await asyncio.gather(*[slow() for _ in range(4)], *[intake() for _ in range(16)])

    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 201, 503}, [a.text for a in answers if a.status_code >= 500]
    assert 503 in statuses  # four requests hold a pool of two for 1 s; the wait is 0.2 s
    assert all(a.headers["retry-after"] == "1" for a in answers if a.status_code == 503)
    assert await _case_count(app_engine, tenant) == statuses.count(201)
    assert app.state.engine.pool.checkedout() == 0


async def test_an_unreachable_database_answers_503_and_readiness_says_so(
    client: Client, tenant: TenantHandle
) -> None:
    app: Litestar = client.app
    unreachable = create_engine("postgresql://closeloop@127.0.0.1:1/closeloop", pool_size=1)
    reachable = app.state.engine, app.state.sessionmaker
    app.state.engine, app.state.sessionmaker = unreachable, sessionmaker(unreachable)
    try:
        response = await client.get("/api/v1/categories", headers=tenant.headers)
        ready = await client.get("/health/ready")
    finally:
        app.state.engine, app.state.sessionmaker = reachable
        await unreachable.dispose()

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
