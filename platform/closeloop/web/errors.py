"""Errors as JSON: `{"error": {"code", "message", "details"}}` on every failure.

Services raise `closeloop.errors.ApiError` subclasses (defined outside the web layer, so
domains need not import it); Litestar's own errors (validation, unknown
route, oversize body) are translated to the same shape; anything unexpected is a 500
carrying the request id and nothing of the stack, and logged with its traceback.
A database that is busy (no pooled connection came free in time) or out of reach is
a 503 with `Retry-After`, never a 500.

One shape for every 4xx: `details` is null or an object. An error about particular
fields (a 400 from decoding, a 422 from a service rule) names them in
`details.fields`, a list of `{"field", "message"}`; other keys of `details` add facts
(`allowed`, `limit_bytes`, `retry_after_seconds`, ...).
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from closeloop.db import DatabaseUnavailable
from closeloop.errors import ApiError, FieldProblem
from closeloop.logs import get_logger
from closeloop.web.signature import handler_fields, wire_name

__all__ = ["error_response", "exception_handlers"]

log = get_logger(__name__)


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response[dict[str, Any]]:
    return Response(
        {"error": {"code": code, "message": message, "details": details}},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    headers: dict[str, str] = {}
    if exc.status_code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if (wait := (exc.details or {}).get("retry_after_seconds")) is not None:
        headers["Retry-After"] = str(wait)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers or None)


# msgspec names an unknown or missing key in its message, not in the error's path, so
# Litestar reports those against the whole body (`data`); the message holds the field.
_KEY_IN_MESSAGE = re.compile(r"(?:unknown|missing required) field `([^`]+)`")


def _field_of(item: dict[str, Any]) -> str | None:
    key = str(item.get("key") or "")
    if item.get("source") == "body":
        named = _KEY_IN_MESSAGE.search(str(item.get("message") or ""))
        parent = "" if key == "data" else key
        if named:
            return f"{parent}.{named.group(1)}" if parent else named.group(1)
        if key == "data":
            return None  # the body as a whole
    return key or None


def _problem(item: dict[str, Any], wire_names: dict[str, str]) -> FieldProblem:
    message = item.get("message")
    if item.get("source") == "body" and item.get("key") == "data" and message == "'data'":
        message = "a JSON body is required"  # Litestar's KeyError text for an empty body
    field = _field_of(item)
    if field is not None and item.get("source") != "body":
        field = wire_names.get(field, field)  # a parameter as the client names it
    return {"field": field, "message": str(message or "is not valid")}


def _wire_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Parameter names as the client sends them, by the handler's names (`from_`: `from`)."""
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler):
        return {}
    return {name: wire_name(name, field) for name, field in handler_fields(handler)}


def _validation_error(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    items = exc.extra if isinstance(exc.extra, list) else []
    names = _wire_names(request)
    problems = [_problem(p, names) for p in items if isinstance(p, dict)]
    if problems:
        first = problems[0]
        where = f"`{first['field']}`" if first["field"] else "the request body"
        message = f"invalid {where}: {first['message']}"
    else:
        message = exc.detail or "the request is not valid"
    details = {"fields": problems} if problems else None
    return error_response(400, "invalid_request", message, details)


# What msgspec says when the body is not JSON at all (Litestar passes it on as a 400).
_DECODE_HINTS = ("malformed", "truncated", "Invalid", "trailing characters", "Expected `")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    message = exc.detail or "request failed"
    code = _CODES.get(status, "error")
    if status == 413:
        message = "the request body is larger than this endpoint accepts"
    elif status == 400 and any(hint in message for hint in _DECODE_HINTS):
        code = "malformed_json"
        message = f"the request body is not valid JSON: {message}"
    extra = exc.extra if isinstance(exc.extra, dict) and exc.extra else None
    return error_response(status, code, message, extra, exc.headers)


# PostgreSQL cannot store NUL in text and answers character_not_in_repertoire (22021);
# untranslatable_character (22P05) is the same mistake in a JSON column. Bad input, not a bug.
_BAD_TEXT_SQLSTATES = frozenset({"22021", "22P05"})
# deadlock_detected (40P01) and serialization_failure (40001): the transaction was rolled
# back by the server; the request may simply be sent again.
_CONCURRENCY_SQLSTATES = frozenset({"40P01", "40001"})


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    if sqlstate in _BAD_TEXT_SQLSTATES:
        return error_response(
            400, "invalid_request", "text must not contain NUL (\\u0000) characters"
        )
    if sqlstate in _CONCURRENCY_SQLSTATES:
        # Two requests locked the same rows in opposite orders (or serialization failed):
        # PostgreSQL rolled this one back whole, so nothing changed and a retry is safe.
        log.info("concurrent change refused", sqlstate=sqlstate, path=request.url.path)
        return error_response(
            409,
            "concurrent_change",
            "another request changed the same records at the same moment; nothing was "
            "changed, retry",
            None,
            {"Retry-After": str(RETRY_AFTER_BUSY_SECONDS)},
        )
    if exc.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return _unavailable(request, exc)
    return _unexpected(request, exc)


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    return request.scope.get("state", {}).get("request_id")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    request_id = _request_id(request)
    # The request id is named here too: past the middleware that binds it (an error in
    # the middleware itself), the log context no longer holds it.
    log.exception("unexpected error", path=request.url.path, request_id=request_id)
    return error_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "an unexpected error occurred; quote the request id when reporting it",
        {"request_id": request_id},
    )


# Litestar names a body field's error by the field's bare name and, when a dependency
# has that name too (the app's `settings`), takes the client's mistake for a failed
# dependency: a bare 500 with the validation error as its cause. The cause says where
# the value was, and `$.data` is the request body.
_BODY_ERROR = re.compile(r"^(?P<message>.+) - at `\$\.data(?:\.(?P<field>[^`]+))?`$", re.DOTALL)


def _internal_error(
    request: Request[Any, Any, Any], exc: HTTPException
) -> Response[dict[str, Any]]:
    """An `HTTPException` with status 500: the body mistake above is the client's (4xx),
    anything else is unexpected (logged, with the request id)."""
    cause = exc.__cause__
    found = _BODY_ERROR.match(str(cause)) if isinstance(cause, msgspec.ValidationError) else None
    if found is None:
        return _unexpected(request, exc)
    problem = {"message": found["message"], "key": found["field"] or "data", "source": "body"}
    mistaken = ValidationException(detail="the request body is not valid", extra=[problem])
    handler = exception_handlers[ValidationException]
    return handler(request, mistaken)  # type: ignore[no-any-return]


# The database refuses or lost the connection: connection_exception (08), insufficient
# resources such as too_many_connections (53), shutting down or starting up (57P).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P")
RETRY_AFTER_BUSY_SECONDS = 1
RETRY_AFTER_UNAVAILABLE_SECONDS = 5


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """The database is busy (every pooled connection stayed in use for the whole pool
    timeout) or out of reach: 503 with `Retry-After`. The request's transaction, if one
    began, was rolled back, so nothing of it was written (but for a connection lost
    while committing, which PostgreSQL may or may not have applied: an intake retried
    with its `Idempotency-Key` is safe either way)."""
    request_id = _request_id(request)
    if isinstance(exc, PoolTimeout):
        code, retry_after = "overloaded", RETRY_AFTER_BUSY_SECONDS
        message = "the service is busy; retry after the time in Retry-After"
    else:
        code, retry_after = "database_unavailable", RETRY_AFTER_UNAVAILABLE_SECONDS
        message = "the database is unavailable; retry after the time in Retry-After"
    cause = f"{type(exc).__name__}: {exc}".splitlines()[0]
    log.warning(code, path=request.url.path, request_id=request_id, error=cause)
    return error_response(
        HTTP_503_SERVICE_UNAVAILABLE,
        code,
        message,
        {"request_id": request_id, "retry_after_seconds": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


exception_handlers: dict[type[Exception] | int, Any] = {
    ApiError: _api_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    DBAPIError: _database_error,
    HTTP_500_INTERNAL_SERVER_ERROR: _internal_error,
    PoolTimeout: _unavailable,
    DatabaseUnavailable: _unavailable,
    Exception: _unexpected,
}
