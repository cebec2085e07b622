"""What a handler takes: its own parameters and those of the dependencies it uses."""

from __future__ import annotations

from collections.abc import Iterator

from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

__all__ = ["handler_fields", "is_query", "wire_name"]


def handler_fields(handler: HTTPRouteHandler) -> Iterator[tuple[str, FieldDefinition]]:
    """(name, field) of every parameter the handler or a dependency it uses takes."""
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


def wire_name(name: str, field: FieldDefinition) -> str:
    """The name a client uses for the parameter (`from` for `from_`)."""
    kwarg = field.kwarg_definition
    if isinstance(kwarg, ParameterKwarg):
        return kwarg.name or kwarg.query or kwarg.header or kwarg.cookie or name
    return name


def is_query(field: FieldDefinition) -> bool:
    """Whether the parameter is read from the query string (not a header or cookie)."""
    kwarg = field.kwarg_definition
    if not isinstance(kwarg, ParameterKwarg):
        return True
    return kwarg.param_type is ParamType.QUERY and not (kwarg.header or kwarg.cookie)
