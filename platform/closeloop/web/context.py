"""Request context: a request id on every request, bound to the log with tenant and actor.

The id is echoed in `X-Request-ID` by a `before_send` hook of the app, which sees every
response, including those Litestar's outermost exception handler sends for an error
raised in a middleware, past `RequestContextMiddleware`'s reach.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Receive, Scope, Send

from closeloop.logs import get_logger
from closeloop.web.middleware import HttpMiddleware

__all__ = ["RequestContextMiddleware", "bind_actor", "echo_request_id"]

log = get_logger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def bind_actor(*, tenant_id: Any, actor: str) -> None:
    structlog.contextvars.bind_contextvars(tenant_id=str(tenant_id), actor=actor)


async def echo_request_id(message: Message, scope: Scope) -> None:
    """`before_send` hook: the request's id in the response's `X-Request-ID`."""
    request_id = scope.get("state", {}).get("request_id")
    if message["type"] == "http.response.start" and request_id:
        MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id


class RequestContextMiddleware(HttpMiddleware):
    """Give each request an id (kept from `X-Request-ID` when sane) and log with it.

    An error after the response started cannot be answered any more; it is logged here,
    with its traceback and the request id, before the server sees it.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = False

        async def send_watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_watched)
        except Exception:
            if started:
                log.exception("unexpected error after the response started", path=scope["path"])
            raise
        finally:
            structlog.contextvars.clear_contextvars()
