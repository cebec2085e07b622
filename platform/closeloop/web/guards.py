"""The app-wide guard: a route's declared access (`closeloop.identity.access`), checked
before its handler runs.

`check_access` reads the declaration in the route's merged `opt`:

- `public(...)`: nothing to check.
- `operator()`: the bearer token must be the `CLOSELOOP_OPERATOR_TOKEN` setting.
- `access(*roles, ...)`: the caller is resolved once, in the request's own transaction
  (the one `db_session` hands the handler afterwards, so the tenant bound here is the
  handler's), and must hold one of the roles. API routes resolve the bearer token or API
  key; a router names another way in its `opt` under `CALLER_KEY` (the console resolves
  its cookie session). The handler's `principal` is the caller resolved here.

A route declaring nothing is refused (a 500 naming the route): a forgotten declaration
fails closed, and the route meta-test (tests/isolation/test_route_access.py) fails
before such a route is merged. Litestar's own `OPTIONS` answer is open to all.

If resolving the caller or checking it fails, the request's session is already open;
`RequestSessionsMiddleware` closes it before the error response starts.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession

from closeloop.errors import NotFound, Unauthorized
from closeloop.identity.access import Access, Audience, declared_access
from closeloop.identity.auth import authenticate
from closeloop.identity.principal import Principal
from closeloop.settings import Settings
from closeloop.web.context import bind_actor
from closeloop.web.sessions import RequestSessions

__all__ = [
    "CALLER_KEY",
    "CallerResolver",
    "bearer_caller",
    "caller_of",
    "check_access",
    "check_operator",
    "route_access",
]

Connection = ASGIConnection[Any, Any, Any, Any]
CallerResolver = Callable[[Connection, AsyncSession], Awaitable[Principal]]

# `opt` key of a router whose tenant routes resolve their caller another way.
CALLER_KEY = "caller"
_CALLER_STATE = "closeloop.caller"


async def bearer_caller(connection: Connection, session: AsyncSession) -> Principal:
    """The API's caller: `Authorization: Bearer <session token or API key>`."""
    settings: Settings = connection.app.state.settings
    return await authenticate(session, connection.headers.get("authorization"), settings)


def check_operator(connection: Connection) -> None:
    """The service operator's bearer token, or 401 (404 where none is configured)."""
    settings: Settings = connection.app.state.settings
    if settings.operator_token is None:
        raise NotFound(
            "operator access is not configured on this deployment (CLOSELOOP_OPERATOR_TOKEN)"
        )
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    presented = token.strip().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        presented, settings.operator_token.encode()
    ):
        raise Unauthorized("operator endpoints need `Authorization: Bearer <operator token>`")
    bind_actor(tenant_id="-", actor="operator")


async def check_access(connection: Connection, handler: BaseRouteHandler) -> None:
    """The guard of every route: refuse a caller the route's declaration does not admit."""
    if isinstance(handler, HTTPRouteHandler) and handler.http_methods == {"OPTIONS"}:
        return  # Litestar's own OPTIONS answer: the path's methods, no data
    declared = declared_access(handler.opt)
    if declared is None:
        raise RuntimeError(
            f"{handler.handler_name} ({', '.join(sorted(handler.paths))}) declares no access: "
            "give it opt=access(...), public(...) or operator()"
        )
    if declared.audience is Audience.PUBLIC:
        return
    if declared.audience is Audience.OPERATOR:
        check_operator(connection)
        return
    resolve: CallerResolver = handler.opt.get(CALLER_KEY, bearer_caller)
    session = await RequestSessions.of(connection.scope).transaction()
    principal = await resolve(connection, session)
    bind_actor(tenant_id=principal.tenant_id, actor=principal.actor)
    connection.scope["state"][_CALLER_STATE] = principal
    declared.check(principal)


def caller_of(connection: Connection) -> Principal:
    """The caller `check_access` resolved for this request."""
    principal: Principal | None = connection.scope.get("state", {}).get(_CALLER_STATE)
    if principal is None:
        raise RuntimeError(
            f"{connection.url.path}: only a route declaring access(...) has a principal"
        )
    return principal


def route_access(app: Litestar) -> list[tuple[str, str, Access | None]]:
    """(method, path, declaration or None) of every route of `app`, every HTTP method
    but Litestar's own OPTIONS and HEAD answers; what the route meta-tests walk."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                found.append((method, route.path_format, declared_access(handler.opt)))
    return sorted(found, key=lambda row: (row[1], row[0]))
