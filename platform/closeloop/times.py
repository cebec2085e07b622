"""Dates and times as clients type them.

Strict RFC 3339 needs seconds (`2026-02-13T17:30:00+08:00`), but people and their tools
also send `2026-02-13T17:30+08:00`. Every date and time Closeloop reads from a client
(request bodies, query parameters) goes through `parse_time`, which takes all of:

* with or without seconds, with any number of fractional digits (`.5`, `.123456789`;
  kept to the microsecond, the rest cut off), after a `.` or a `,`;
* `T`, `t` or a space between date and time;
* `Z` or `z` for UTC, or an offset `+08:00`, `+0800` or `+08`;
* no zone at all: a *naive* time, which each caller reads by its own rule (intake:
  the tenant's time zone; an action's deadline: refused, `ZonedTime`).

Fields typed `ClientTime` or `ZonedTime` are decoded here, by the app's type decoders
(`TYPE_DECODERS`) or, where a body is converted by hand, `dec_hook`; the services get
plain datetimes. The OpenAPI document shows them as `date-time` (`TimeSchemaPlugin`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.typing import FieldDefinition

__all__ = [
    "TIME_FORMS",
    "TYPE_DECODERS",
    "ClientTime",
    "TimeSchemaPlugin",
    "ZonedTime",
    "dec_hook",
    "parse_time",
]

TIME_FORMS = (
    "an RFC 3339 date and time such as 2026-02-13T17:30:00+08:00 "
    "(seconds, fraction and zone optional; Z for UTC)"
)

_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_h>\d{2})(?::?(?P<off_m>\d{2}))?)?",
    re.ASCII,  # digits 0-9 only
)


def parse_time(text: str) -> dt.datetime:
    """`text` as a datetime, aware when it names a zone; `ValueError` naming the forms
    accepted otherwise."""
    found = _TIME.fullmatch(text.strip())
    if found is None:
        raise ValueError(f"{text!r} is not {TIME_FORMS}")
    try:
        day = dt.date.fromisoformat(found["date"])
        fraction = (found["fraction"] or "")[:6].ljust(6, "0")
        moment = dt.datetime.combine(
            day,
            dt.time(
                int(found["hour"]),
                int(found["minute"]),
                int(found["second"] or 0),
                int(fraction),
            ),
        )
        if found["utc"]:
            return moment.replace(tzinfo=dt.UTC)
        if found["sign"]:
            offset = dt.timedelta(hours=int(found["off_h"]), minutes=int(found["off_m"] or 0))
            sign = -1 if found["sign"] == "-" else 1
            return moment.replace(tzinfo=dt.timezone(sign * offset))
    except ValueError:  # month 13, hour 25, offset past 24 h ...
        raise ValueError(f"{text!r} is not a valid date and time") from None
    return moment


class _DecodedAsDatetime(type):
    """msgspec hands a field of an unknown type to the app's decoders and then checks
    that what came back is an instance of that type: any plain `datetime` passes, so
    the services get ordinary datetimes, never a subclass that msgspec could not encode."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, dt.datetime)


if TYPE_CHECKING:  # to the type checker (and to the services) these are datetimes
    ClientTime = dt.datetime
    ZonedTime = dt.datetime
else:

    class ClientTime(metaclass=_DecodedAsDatetime):
        """A date and time read from a client by `parse_time`; naive without a zone."""

        zone_required = False

    class ZonedTime(ClientTime):
        """A date and time read from a client that must name its zone."""

        zone_required = True


def _is_client_time(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, ClientTime)


def _decode(target: Any, value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected {TIME_FORMS}")
    moment = parse_time(value)
    if target.zone_required and moment.tzinfo is None:
        raise ValueError(f"{value!r} needs a time zone (Z or an offset such as +08:00)")
    return moment


def dec_hook(target: Any, value: Any) -> Any:
    """For `msgspec.convert` / `msgspec.json.decode` of client data outside Litestar's
    own decoding."""
    if _is_client_time(target):
        return _decode(target, value)
    raise NotImplementedError(f"no decoder for {target!r}")


# For `Litestar(type_decoders=...)`: request bodies and parameters typed `ClientTime`.
TYPE_DECODERS = [(_is_client_time, _decode)]


class TimeSchemaPlugin(OpenAPISchemaPlugin):
    """`ClientTime` and `ZonedTime` are `date-time` strings in the OpenAPI document."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return _is_client_time(value)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        zoned = bool(field_definition.annotation.zone_required)
        return Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.DATE_TIME,
            description="RFC 3339; seconds optional"
            + ("; a time zone is required" if zoned else ""),
        )
