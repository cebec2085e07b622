"""The app-wide guard: a route's declared access (`closeloop.identity.access`), checked
before its handler runs.

`check_access` reads the declaration in the route's merged `opt`:

- `public(...)`: nothing to check.
- `operator()`: the bearer token must be the `CLOSELOOP_OPERATOR_TOKEN` setting.
- `access(*roles, ...)`: the caller is resolved once, in the request's own transaction
  (the one `db_session` hands the handler, so the tenant bound there is the handler's),
  and must hold one of the roles, before the handler runs. API routes resolve the bearer
  token or API key; a router names another way in its `opt` under `CALLER_KEY` (the
  console resolves its cookie session). The handler's `principal` is that caller.

  When the handler takes `db_session` (every tenant route does), `provide_db_session`
  settles the check (`settle_caller`) as it hands the transaction over, so that the
  pooled connection is not held while Litestar parses the body and resolves the other
  dependencies (intake's throughput depends on it); the order of answers is today's:
  a malformed body 400, then 401, 403, and a lookup's 404 in the handler. Otherwise the
  guard settles it itself.

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
    "settle_caller",
]

Connection = ASGIConnection[Any, Any, Any, Any]
CallerResolver = Callable[[Connection, AsyncSession], Awaitable[Principal]]

# `opt` key of a router whose tenant routes resolve their caller another way.
CALLER_KEY = "caller"
_CALLER_STATE = "closeloop.caller"
_PENDING_STATE = "closeloop.caller_pending"


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
    connection.scope["state"][_PENDING_STATE] = (declared, resolve)
    if not _opens_transaction(handler):
        await settle_caller(connection, await RequestSessions.of(connection.scope).transaction())


async def settle_caller(connection: Connection, session: AsyncSession) -> None:
    """Resolve the caller `check_access` left to check in the request's transaction,
    and refuse one the route does not admit; nothing when none is pending."""
    pending: tuple[Access, CallerResolver] | None = connection.scope["state"].pop(
        _PENDING_STATE, None
    )
    if pending is None:
        return
    declared, resolve = pending
    principal = await resolve(connection, session)
    bind_actor(tenant_id=principal.tenant_id, actor=principal.actor)
    connection.scope["state"][_CALLER_STATE] = principal
    declared.check(principal)


_OPENS_TRANSACTION: dict[str, bool] = {}


def _opens_transaction(handler: BaseRouteHandler) -> bool:
    """Whether the handler, or a dependency it uses, asks for `db_session` (which settles
    the caller as it hands the transaction over)."""
    found = _OPENS_TRANSACTION.get(handler.handler_id)
    if found is None:
        provided = handler.resolve_dependencies()
        seen: set[str] = set()
        wanted = list(handler.parsed_fn_signature.parameters)
        found = False
        while wanted and not found:
            key = wanted.pop()
            found = key == "db_session"
            if key not in seen and key in provided:
                seen.add(key)
                wanted.extend(provided[key].parsed_fn_signature.parameters)
        _OPENS_TRANSACTION[handler.handler_id] = found
    return found


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
