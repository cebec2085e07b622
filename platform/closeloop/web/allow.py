"""`OPTIONS` on any route answers 204 with `Allow` naming every method of the path.

Litestar 2 builds the automatic `OPTIONS` answer from the first handler registered for
a path, so `Allow` missed the others (litestar-org/litestar#4169, fixed in Litestar 3).
This `before_request` hook answers from the finished route table instead.
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, Request, Response
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT

__all__ = ["answer_options"]


def _allowed(app: Litestar) -> dict[str, str]:
    table: dict[str, str] | None = app.state.get("allow_by_path")
    if table is None:
        table = {
            route.path_format: ", ".join(sorted(route.methods))
            for route in app.routes
            if isinstance(route, HTTPRoute)
        }
        app.state.allow_by_path = table
    return table


def answer_options(request: Request[Any, Any, Any]) -> Response[None] | None:
    if request.method != "OPTIONS":
        return None
    allow = _allowed(request.app).get(request.scope.get("path_template", ""))
    if allow is None:
        return None
    return Response(
        None, status_code=HTTP_204_NO_CONTENT, headers={"Allow": allow}, media_type=MediaType.TEXT
    )
