"""JSON request bodies are read as strictly as the OpenAPI document describes them.

Litestar converts a decoded body into the handler's `data` type with msgspec's lax
rules, which take `"true"` or `0` for a boolean and `"5"` for a number. The app's
`StrictRequest` first checks the body against that type with the strict rules (the ones
the document states: a JSON boolean is `true` or `false`, a number is a number), so a
body of the wrong type answers 400 naming the field and the handler never sees it.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException
from litestar.types import TypeDecodersSequence

__all__ = ["StrictRequest"]

# "Expected `bool`, got `int` - at `$.items[0].active`": the message and the path.
_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)


def _integral(value: Any) -> Any:
    """`value` with every whole float (`810.0`) as an int: JSON Schema calls 810.0 an
    integer, and so does the document."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def _problem(error: msgspec.ValidationError) -> dict[str, Any]:
    found = _AT.match(str(error))
    assert found is not None  # the pattern matches any text
    path = (found.group("path") or "").removeprefix(".")
    # "data" is how Litestar names the body as a whole (web.errors reads it that way).
    return {"message": found.group("message"), "key": path or "data", "source": "body"}


def _decode(decoders: TypeDecodersSequence, target: Any, value: Any) -> Any:
    """The app's own type decoders (`times.ClientTime`...), as Litestar applies them."""
    for accepts, decode in decoders:
        if accepts(target):
            return decode(target, value)
    raise NotImplementedError(f"no decoder for {target!r}")


class StrictRequest(Request[Any, Any, Any]):
    """A request whose JSON body must fit the handler's `data` type under msgspec's
    strict rules before Litestar converts it."""

    async def json(self) -> Any:
        value = await super().json()
        handler = self.scope.get("route_handler")
        field = handler.parsed_fn_signature.parameters.get("data") if handler else None
        # No body at all is left to Litestar, which says that a body is required.
        if value is not None and field is not None and field.annotation is not Any:
            decoders = handler.resolve_type_decoders()
            try:
                msgspec.convert(
                    _integral(value),
                    type=field.annotation,
                    strict=True,
                    dec_hook=partial(_decode, decoders),
                )
            except msgspec.ValidationError as error:
                problem = _problem(error)
                raise ValidationException(
                    f"Validation failed for {self.method} {self.url.path}", extra=[problem]
                ) from None
        return value
