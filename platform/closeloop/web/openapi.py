"""The OpenAPI document tells what the app really does, finished in one place.

Litestar derives operations, parameters and bodies from the handlers. `finish` adds
what it cannot see, for every operation at once rather than on each handler:

- every error status the operation can answer, each in the app's one error shape
  (`web.errors`, component `Error`): 400 for a malformed request, 401/403 where a
  caller is required, 404 for a path naming something, 413/422 for bodies, 409/428
  where `If-Match` is read, 503 when the service is overloaded, and the statuses the
  route's service raises beyond that (`openapi_routes.EXTRA_STATUSES`);
- `security: []` on operations that take no bearer token (public pages, login,
  health, metrics);
- request bodies described by msgspec itself (`msgspec.json.schema_components`), the
  library that validates them, so the document states every limit the code enforces
  (lengths, ranges, patterns, items) and `additionalProperties: false` where a struct
  refuses unknown fields; `web.bodies` makes the code as strict as the document;
- what Litestar cannot read from a handler that parses its own body or answers other
  media types (`openapi_routes`: lifecycle actions, attachments, surveys, exports).

Litestar builds the document on its first request; `document_api` has its OpenAPI
plugin run `finish` at the end of that build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
    SecurityScheme,
)
from litestar.routes import HTTPRoute

from closeloop.identity.access import Audience, declared_access
from closeloop.web import openapi_routes
from closeloop.web.msgspec_schemas import MsgspecSchemas

__all__ = ["components", "document_api", "statuses_of"]

ERROR_SCHEMA = "Error"
ERROR_REF = Reference(ref=f"#/components/schemas/{ERROR_SCHEMA}")

_STRING = Schema(type=OpenAPIType.STRING)

_FIELD_PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["field", "message"],
    additional_properties=False,
    properties={
        "field": Schema(
            type=[OpenAPIType.STRING, OpenAPIType.NULL],
            description="a dotted path into the body (`product.purchase_date`), a parameter "
            "or header name; null for the body as a whole",
        ),
        "message": _STRING,
    },
)

_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    title=ERROR_SCHEMA,
    description="Every error answer: a stable `code`, a `message` for people, `details`.",
    required=["error"],
    additional_properties=False,
    properties={
        "error": Schema(
            type=OpenAPIType.OBJECT,
            required=["code", "message", "details"],
            additional_properties=False,
            properties={
                "code": Schema(type=OpenAPIType.STRING, description="e.g. `invalid_request`"),
                "message": _STRING,
                "details": Schema(
                    type=[OpenAPIType.OBJECT, OpenAPIType.NULL],
                    description="null, or facts about the error: `fields` names the fields "
                    "at fault; a 500 gives `request_id`; other keys depend on the code",
                    properties={
                        "fields": Schema(type=OpenAPIType.ARRAY, items=_FIELD_PROBLEM),
                        "request_id": _STRING,
                        "retry_after_seconds": Schema(type=OpenAPIType.INTEGER),
                    },
                ),
            },
        )
    },
)

# Why each status is answered: the description of the operation's response.
_DESCRIPTIONS = {
    400: "The request is malformed: not JSON, a wrong type, an unknown or missing field, "
    "a parameter that does not parse.",
    401: "No credentials, or they are not valid (bearer token or API key).",
    403: "The caller lacks the role or scope this needs.",
    404: "Nothing of that id or name here (another tenant's id answers 404 too).",
    409: "The request conflicts with the current state: a duplicate, a stale version, an "
    "action the case's status does not allow.",
    410: "It is gone: the link has expired.",
    413: "The request body is larger than this endpoint accepts.",
    415: "The content type is not one this endpoint accepts.",
    422: "Well formed but refused by a rule: an unknown reference, a value the tenant "
    "does not allow, a cursor this API did not give.",
    428: "The request must say which version it read (`If-Match`).",
    429: "Too many requests; wait `Retry-After` seconds.",
    503: "The service is overloaded or its database is unavailable; try again later.",
}

# Operations that touch no database, so are never turned away as overloaded.
_NO_DATABASE = frozenset({"GET /health/live", "GET /metrics"})


def components() -> Components:
    """What `OpenAPIConfig(components=...)` starts from: the bearer scheme."""
    return Components(
        security_schemes={
            "bearer": SecurityScheme(
                type="http", scheme="bearer", description="session token or `clk_` API key"
            )
        },
    )


# -- what an operation can answer ------------------------------------------------------------


def _audience(handler: HTTPRouteHandler) -> Audience | None:
    declared = declared_access(handler.opt)
    return None if declared is None else declared.audience


def _authenticated(handler: HTTPRouteHandler) -> bool:
    return _audience(handler) in (Audience.TENANT, Audience.OPERATOR)


def statuses_of(key: str, handler: HTTPRouteHandler, operation: Operation) -> set[int]:
    """Every error status the operation (`key` is "METHOD path") can answer."""
    parameters = [p for p in operation.parameters or [] if not isinstance(p, Reference)]
    where = {p.param_in for p in parameters}
    statuses = set(openapi_routes.EXTRA_STATUSES.get(key, ()))
    if parameters or operation.request_body is not None:
        statuses.add(400)
    if operation.request_body is not None:
        statuses |= {413, 422}
    if "query" in where:
        statuses.add(422)
    if "path" in where:
        statuses.add(404)
    if any(p.name.lower() == "if-match" for p in parameters):
        statuses |= {409, 428}
    if _audience(handler) is Audience.TENANT:
        statuses |= {401, 403}
    if _audience(handler) is Audience.OPERATOR:
        statuses |= {401, 404}  # 404 too: operator access not configured here
    if key not in _NO_DATABASE:
        statuses.add(503)
    return statuses


def _error_response(status: int, media_types: tuple[str, ...]) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] = {}
    if status in (429, 503):
        headers["Retry-After"] = OpenAPIHeader(
            schema=_STRING, description="seconds to wait before trying again"
        )
    if status == 401:
        headers["WWW-Authenticate"] = OpenAPIHeader(schema=_STRING, description="`Bearer`")
    content = {"application/json": OpenAPIMediaType(schema=ERROR_REF)}
    for media_type in media_types:
        content[media_type] = OpenAPIMediaType(schema=_STRING)
    return OpenAPIResponse(
        description=_DESCRIPTIONS[status], headers=headers or None, content=content
    )


def _operations(
    openapi: OpenAPI, routes: dict[str, HTTPRoute]
) -> Iterator[tuple[str, HTTPRouteHandler, Operation]]:
    """("METHOD path", handler, operation) for every operation in the document."""
    for route in routes.values():
        item = (openapi.paths or {}).get(route.path_format or "/")
        for method, (handler, _) in route.route_handler_map.items():
            operation = getattr(item, method.lower(), None)
            if isinstance(operation, Operation):
                yield f"{method} {route.path_format}", handler, operation


def _request_body(handler: HTTPRouteHandler, operation: Operation, schemas: MsgspecSchemas) -> None:
    """The JSON body's schema as msgspec validates it (Litestar's drops nested limits)."""
    field = handler.parsed_fn_signature.parameters.get("data")
    body = operation.request_body
    if field is None or not isinstance(body, RequestBody):
        return
    for media in body.content.values():
        media.schema = schemas.of(field.annotation)


def _require_if_match(operation: Operation) -> None:
    """`If-Match` is required text: an edit without it answers 428."""
    for parameter in operation.parameters or []:
        if isinstance(parameter, Parameter) and parameter.name.lower() == "if-match":
            parameter.required = True
            if isinstance(parameter.schema, Schema):
                parameter.schema.one_of = None  # declared `str | None`; a header is never null
                parameter.schema.type = OpenAPIType.STRING


def finish(openapi: OpenAPI, routes: dict[str, HTTPRoute]) -> None:
    """Add to the document what the handlers do not show (the module's docstring)."""
    schemas = MsgspecSchemas()
    for key, handler, operation in _operations(openapi, routes):
        _request_body(handler, operation, schemas)
        _require_if_match(operation)
        extra_media = openapi_routes.ERROR_MEDIA_TYPES.get(key, ())
        responses = operation.responses or {}
        for status in statuses_of(key, handler, operation):
            responses[str(status)] = _error_response(status, extra_media)
        operation.responses = responses
        openapi_routes.describe(key, operation, schemas)
        operation.responses = dict(sorted(operation.responses.items()))
        if not _authenticated(handler):
            operation.security = []
    openapi_routes.expand_actions(openapi, schemas)
    openapi.components.schemas = {
        **(openapi.components.schemas or {}),
        **schemas.components(),
        ERROR_SCHEMA: _ERROR,
    }


class _DocumentedOpenAPIPlugin(OpenAPIPlugin):
    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        openapi = super()._build_openapi()
        finish(openapi, self.included_routes)
        return openapi


def document_api(app: Litestar) -> None:
    """Have the app's OpenAPI document finished by `finish` when it is first built.

    Litestar makes its OpenAPI plugin itself and has no hook after the build; the
    plugin instance becomes this subclass, which only adds that last step.
    """
    plugin: Any = app.plugins.get(OpenAPIPlugin)
    plugin.__class__ = _DocumentedOpenAPIPlugin
