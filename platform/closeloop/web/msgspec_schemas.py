"""JSON Schemas of request and response types as msgspec states them.

msgspec validates the bodies, so its own schemas (`msgspec.json.schema_components`)
say exactly what it accepts: nested limits, patterns, `additionalProperties: false` for
structs that refuse unknown fields. Litestar's schemas of the same types lose some of
that, so `web.openapi` describes request bodies with these.
"""

from __future__ import annotations

from typing import Any

import msgspec

from closeloop.times import ClientTime

__all__ = ["MsgspecSchemas"]

_REF = "#/components/schemas/{name}"


class MsgspecSchemas:
    """JSON Schemas of types as msgspec, which validates them, states them; the structs
    they name become components (`#/components/schemas/Name`)."""

    def __init__(self) -> None:
        self._types: list[Any] = []

    def of(self, annotation: Any) -> Any:
        """The schema of `annotation` (a dict: the document takes JSON Schema as is)."""
        self._types.append(annotation)
        (schema,), _ = msgspec.json.schema_components(
            [annotation], schema_hook=_app_types, ref_template=_REF
        )
        return schema

    def components(self) -> dict[str, Any]:
        _, found = msgspec.json.schema_components(
            self._types, schema_hook=_app_types, ref_template=_REF
        )
        return found


def _app_types(target: Any) -> dict[str, Any]:
    """The schemas of the app's own field types (decoded by `times.TYPE_DECODERS`)."""
    if isinstance(target, type) and issubclass(target, ClientTime):
        zoned = "; a time zone is required" if getattr(target, "zone_required", False) else ""
        return {
            "type": "string",
            "format": "date-time",
            "description": f"RFC 3339; seconds optional{zoned}",
        }
    raise NotImplementedError(f"no schema for {target!r}")
