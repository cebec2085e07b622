"""Failures are answered, not crashed: every unexpected error is logged with its traceback
and answered with the request id; a body field named like a dependency is the client's
mistake."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import structlog
from litestar import Litestar, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody
from litestar.types import ASGIApp, Receive, Scope, Send

from closeloop.logs import configure_logging
from closeloop.settings import Settings
from closeloop.web.app import create_app
from support import Client, TenantHandle


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


@post("/test/echo", status_code=200)
async def echo(data: JSONBody[Echo]) -> dict[str, Any]:
    return {"principal": data.principal}


@get("/test/bad-dependency", dependencies={"answer": Provide(lambda: "many", sync_to_thread=False)})
async def bad_dependency(answer: NamedDependency[int]) -> dict[str, int]:
    return {"answer": answer}


@get("/test/failing-middleware", middleware=[FailingMiddleware])
async def failing_middleware() -> dict[str, str]:
    return {}


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings, extra_route_handlers=[echo, bad_dependency, failing_middleware])


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
