"""Query parameters read as strictly as the OpenAPI document describes them.

Litestar converts query strings with msgspec's lax rules, under which a number is a
time (seconds since 1970): `?to=0.5` would mean 1970-01-01. A time parameter is taken
as text and read here as RFC 3339 only.
"""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar.params import QueryParameter

from closeloop.web.errors import ApiError

__all__ = ["TimeQuery", "time_query"]


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
