"""The CRUD controller base: the five routes of a configuration list, declared once.

A controller of one kind of row subclasses `CrudController` and says what differs:

    class CalendarController(CrudController):
        path = "/api/v1/calendars"
        tags = ("configuration",)
        item = "calendar"  # names: get_calendar, {calendar_id}
        provider = provide_calendar_service  # the domain's, from sla/deps.py
        read, create_body, update_body = CalendarRead, CalendarCreate, CalendarUpdate
        deletable = True
        reading, writing = access(*ALL_ROLES), access(Role.ADMIN)

and gets `GET /` (`list_calendars`), `POST /` (`create_calendar`), `GET /{calendar_id}`,
`PATCH /{calendar_id}` and `DELETE /{calendar_id}` (when `deletable`), each calling the
`service` dependency (an `AuditedService`: `list`, `get`, `create`, `update`,
`delete`; built per request by `provider`, the domain's provider made with
`closeloop.providers.audited_as_caller`, or given in `dependencies`) and answering
`read`. Who may call them is declared on the routes and checked by the app-wide guard
(web/guards.py) before the handler runs: `reading` is the `opt` of the read routes and
`writing` of the others; a class-level `opt` applies to all. A route written out in
the subclass (same handler name) replaces the generated one; `present`, `given`,
`create_item` and `update_item` change how rows are answered and bodies passed on.
`ConfigurationController` is the base of the tenant configuration lists (every staff
role reads, admins change).
"""

import datetime as dt
import inspect
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from closeloop.crud import read_as
from closeloop.identity.access import ALL_ROLES, access
from closeloop.identity.models import Role

__all__ = ["KEPT_AS_IS", "ConfigurationController", "CrudController", "given"]

# Values a body keeps as they are when it is passed on as plain values.
KEPT_AS_IS = (uuid.UUID, dt.date, dt.datetime)


def given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a body sets (PATCH leaves out what does not change), nested bodies and
    lists as plain dicts and lists (dates and ids stay as they are)."""
    return {
        name: (
            msgspec.to_builtins(value, builtin_types=KEPT_AS_IS)
            if isinstance(value, msgspec.Struct | list | dict)
            else value
        )
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


# Generic types applied to the classes a subclass names, at run time (for Litestar).
_NAMED: Any = NamedDependency
_BODY: Any = JSONBody
_LIST: Any = list
_SELF = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _param(name: str, annotation: Any, default: Any = inspect.Parameter.empty) -> Any:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def _shaped(fn: Any, name: str, doc: str | None, params: Sequence[Any], returns: Any) -> Any:
    """Give a generated handler its route's name, parameters and answer type (what
    Litestar reads to parse the request and to write the OpenAPI)."""
    fn.__name__ = name
    fn.__doc__ = doc
    fn.__signature__ = inspect.Signature([_SELF, *params], return_annotation=returns)
    fn.__annotations__ = {p.name: p.annotation for p in params} | {"return": returns}
    return fn


class CrudController(Controller):
    """Base of the controllers of one configurable kind of row (see the module doc)."""

    item: ClassVar[str] = ""
    """One row's name: `get_<item>`, `{<item>_id}`; `list_<items>` is named for the
    last part of `path` (`sla-policies`: `list_sla_policies`)."""
    provider: ClassVar[Callable[..., Any] | None] = None
    """The domain's provider of the service (`provide_..._service` in its deps.py),
    given to the routes as the `service` dependency."""
    read: ClassVar[type[Any]]
    create_body: ClassVar[type[Any] | None] = None
    update_body: ClassVar[type[Any] | None] = None
    deletable: ClassVar[bool] = False
    reading: ClassVar[dict[str, Any]] = {}
    writing: ClassVar[dict[str, Any]] = {}
    list_query: ClassVar[dict[str, tuple[Any, Any]]] = {}
    """Query parameters of the list route, passed on to `service.list(**query)`:
    `{name: (annotation, default)}`."""
    docs: ClassVar[dict[str, str]] = {}
    """The description of each generated route: keys list, create, get, update, delete."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.item:
            return
        if cls.__dict__.get("provider") is not None:
            cls.dependencies = {
                **(cls.__dict__.get("dependencies") or {}),
                "service": Provide(cls.__dict__["provider"], sync_to_thread=False),
            }
        for name, handler in cls._routes().items():
            if name not in cls.__dict__:
                # Named as if written in the subclass: Litestar orders a controller's
                # routes (and so the OpenAPI) by module and qualified name.
                handler.fn.__module__ = cls.__module__
                handler.fn.__qualname__ = f"{cls.__qualname__}.{name}"
                setattr(cls, name, handler)

    @classmethod
    def _routes(cls) -> dict[str, Any]:
        item_id = f"{cls.item}_id"
        one = f"/{{{item_id}:uuid}}"
        service = _param("service", _NAMED[Any])
        key = _param(item_id, FromPath[uuid.UUID])
        declared = next(  # a class-level `opt` (Controller keeps it in a slot otherwise)
            (
                dict(c.__dict__["opt"])
                for c in cls.__mro__
                if isinstance(c.__dict__.get("opt"), dict)
            ),
            {},
        )
        reading, writing = {**declared, **cls.reading}, {**declared, **cls.writing}
        routes: dict[str, Any] = {}

        async def list_rows(self: CrudController, **kw: Any) -> list[Any]:
            found = await (svc := kw.pop("service")).list(**kw)
            return [await self.present(svc, row) for row in found]

        query = [_param(name, note, default) for name, (note, default) in cls.list_query.items()]
        name = f"list_{cls.path.rstrip('/').rsplit('/', 1)[-1].replace('-', '_')}"
        routes[name] = get("/", opt=reading)(
            _shaped(list_rows, name, cls.docs.get("list"), [service, *query], _LIST[cls.read])
        )

        async def get_row(self: CrudController, **kw: Any) -> Any:
            svc = kw["service"]
            return await self.present(svc, await svc.get(kw[item_id]))

        name = f"get_{cls.item}"
        routes[name] = get(one, opt=reading)(
            _shaped(get_row, name, cls.docs.get("get"), [service, key], cls.read)
        )

        if cls.create_body is not None:

            async def create_row(self: CrudController, **kw: Any) -> Any:
                svc = kw["service"]
                return await self.present(svc, await self.create_item(svc, kw["data"]))

            name = f"create_{cls.item}"
            body = _param("data", _BODY[cls.create_body])
            routes[name] = post("/", opt=writing)(
                _shaped(create_row, name, cls.docs.get("create"), [service, body], cls.read)
            )

        if cls.update_body is not None:

            async def update_row(self: CrudController, **kw: Any) -> Any:
                svc = kw["service"]
                row = await self.update_item(svc, kw[item_id], kw["data"])
                return await self.present(svc, row)

            name = f"update_{cls.item}"
            body = _param("data", _BODY[cls.update_body])
            routes[name] = patch(one, opt=writing)(
                _shaped(
                    update_row,
                    name,
                    cls.docs.get("update"),
                    [service, key, body],
                    cls.read,
                )
            )

        if cls.deletable:

            async def delete_row(self: CrudController, **kw: Any) -> None:
                await kw["service"].delete(kw[item_id])

            name = f"delete_{cls.item}"
            routes[name] = delete(one, opt=writing)(
                _shaped(delete_row, name, cls.docs.get("delete"), [service, key], None)
            )
        return routes

    async def present(self, service: Any, row: Any) -> Any:
        """The answer for one row; the base copies the fields of `read` by name."""
        return read_as(self.read, row)

    def given(self, data: msgspec.Struct) -> dict[str, Any]:
        return given(data)

    async def create_item(self, service: Any, data: msgspec.Struct) -> Any:
        return await service.create(self.given(data))

    async def update_item(self, service: Any, item_id: uuid.UUID, data: msgspec.Struct) -> Any:
        return await service.update(item_id, self.given(data))


class ConfigurationController(CrudController):
    """A tenant configuration list: every staff role reads it (cases are classified and
    timed with it); only admins change it."""

    tags = ("configuration",)
    reading, writing = access(*ALL_ROLES), access(Role.ADMIN)
