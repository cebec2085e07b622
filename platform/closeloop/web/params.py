"""Query parameters read as strictly as the OpenAPI document describes them.

Litestar converts query strings with msgspec's lax rules, under which a number is a
time (seconds since 1970: `?to=0.5` would mean 1970-01-01) and `1`, `0` or `True` are
booleans. A time parameter is taken as text and read here as RFC 3339 only; a boolean
parameter must be `true` or `false` (`refuse_loose_booleans`, before each request).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Request
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg, QueryParameter
from litestar.typing import FieldDefinition

from closeloop.web.errors import ApiError

__all__ = ["TimeQuery", "refuse_loose_booleans", "time_query"]


def TimeQuery(description: str, *, name: str | None = None) -> QueryParameter:
    """How a time query parameter is declared: `Annotated[str | None, TimeQuery(...)]`."""
    return QueryParameter(
        name=name,
        description=f"{description} (RFC 3339)",
        schema_extra={"format": "date-time"},
    )


def time_query(value: str | None, field: str) -> dt.datetime | None:
    """The time a query parameter gives, or None; 400 naming `field` if it is not one."""
    if value is None:
        return None
    try:
        return msgspec.convert(value, dt.datetime)
    except msgspec.ValidationError:
        raise ApiError(
            f"{field} must be an RFC 3339 time (2026-11-25T08:30:00+08:00)",
            code="invalid_request",
            field=field,
        ) from None


def _fields(handler: HTTPRouteHandler) -> Iterator[tuple[str, FieldDefinition]]:
    """The handler's parameters and those of the dependencies it uses."""
    provided = handler.resolve_dependencies()
    pending = list(handler.parsed_fn_signature.parameters.items())
    seen: set[str] = set()
    while pending:
        name, field = pending.pop()
        if name in provided:
            if name not in seen:
                seen.add(name)
                pending.extend(provided[name].parsed_fn_signature.parameters.items())
            continue
        yield name, field


def _boolean_queries(handler: HTTPRouteHandler) -> tuple[str, ...]:
    names = []
    for name, field in _fields(handler):
        kwarg = field.kwarg_definition
        if isinstance(kwarg, ParameterKwarg) and (kwarg.header or kwarg.cookie):
            continue
        types = field.inner_types if field.is_optional else (field,)
        if any(inner.annotation is bool for inner in types):
            names.append(kwarg.query or name if isinstance(kwarg, ParameterKwarg) else name)
    return tuple(names)


def refuse_loose_booleans(request: Request[Any, Any, Any]) -> None:
    """400 naming the parameter when a boolean query parameter is not `true`/`false`."""
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler) or not request.query_params:
        return
    known: dict[int, tuple[str, ...]] = request.app.state.setdefault("boolean_queries", {})
    names = known.get(id(handler))
    if names is None:
        names = known[id(handler)] = _boolean_queries(handler)
    for name in names:
        for value in request.query_params.getall(name, []):
            if value not in ("true", "false"):
                raise ApiError(
                    f"{name} must be true or false, not {value!r}",
                    code="invalid_request",
                    field=name,
                )
