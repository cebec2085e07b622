"""Boolean query parameters read as strictly as the OpenAPI document describes them.

Litestar converts query strings with msgspec's lax rules, under which `1`, `0`, `True`
and `TRUE` are booleans too; the document says `true` or `false`, and so does
`refuse_loose_booleans`, before each request to an operation of the document. (Times
are `times.ClientTime`: never a number.)
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.handlers import HTTPRouteHandler

from closeloop.errors import ApiError
from closeloop.web.signature import handler_fields, is_query, wire_name

__all__ = ["refuse_loose_booleans"]


def _boolean_queries(handler: HTTPRouteHandler) -> tuple[str, ...]:
    names = []
    for name, field in handler_fields(handler):
        if not is_query(field):
            continue
        types = field.inner_types if field.is_optional else (field,)
        if any(inner.annotation is bool for inner in types):
            names.append(wire_name(name, field))
    return tuple(names)


def refuse_loose_booleans(request: Request[Any, Any, Any]) -> None:
    """400 naming the parameter when a boolean query parameter is not `true`/`false`."""
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler) or not request.query_params:
        return
    if not handler.resolve_include_in_schema():
        return  # pages (the console) are not the documented API: `?ended=1` stays theirs
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
