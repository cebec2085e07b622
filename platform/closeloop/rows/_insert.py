"""New rows written at once through the driver (`closeloop.rows`' docstring)."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

import msgspec
from sqlalchemy import ARRAY, JSON, Integer, String, Table, Uuid
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.sql.elements import Null

from closeloop.db import TenantMismatch, unscoped_now
from closeloop.rows._session import attach, driver, own, required_tenant, session_dialect

_MISSING = object()
T = TypeVar("T")
_HELD_KEY = "closeloop.rows.held"
_MAX_PARAMETERS = 32767  # of one statement, in PostgreSQL's protocol
_MAX_STATEMENTS = 512  # shapes kept built; a path with varying row counts builds anew


@dataclasses.dataclass(frozen=True, slots=True)
class _Column:
    key: str  # the attribute
    default: Callable[[], Any] | None  # the Python-side default, if any
    process: Callable[[Any], Any] | None  # the type's bind processing, if any


@dataclasses.dataclass(frozen=True, slots=True)
class _Shape:
    """How one model's rows are inserted: its table and columns, in order."""

    table: str
    names: str
    columns: tuple[_Column, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Arrays:
    """How one model's rows travel as arrays, one per column, for `unnest`: the type of
    each array parameter, the select list that turns the unnested columns back into the
    table's types, and how each column's values are made ready: the bind processing,
    and for array columns their text form (a parameter cannot be an array of arrays).
    JSON and text search documents are text once bound, and sent as such."""

    shape: _Shape
    params: tuple[str, ...]
    select: str
    process: tuple[Callable[[Any], Any] | None, ...]


_shapes: dict[type, _Shape] = {}
_arrays: dict[type, _Arrays] = {}
_keys: dict[type, tuple[frozenset[str], Callable[[], Any]]] = {}
_statements: dict[tuple[tuple[type, int], ...], str] = {}


def _shape(model: type, dialect: Dialect) -> _Shape:
    shape = _shapes.get(model)
    if shape is not None:
        return shape
    mapper: Mapper[Any] = sa_inspect(model)
    table = mapper.local_table
    if not isinstance(table, Table) or mapper.inherits is not None:
        raise TypeError(f"{model.__name__}: only single-table models can be inserted")
    columns = []
    for column in table.columns:
        key = mapper.get_property_by_column(column).key
        default: Callable[[], Any] | None = None
        if column.default is not None:
            if column.default.is_callable:
                call = column.default.arg  # wrapped by SQLAlchemy to take a context
                default = lambda call=call: call(None)  # noqa: E731
            elif column.default.is_scalar:
                value = column.default.arg
                default = lambda value=value: value  # noqa: E731
            else:
                raise TypeError(f"{model.__name__}.{key}: a SQL default cannot be inserted")
        elif column.server_default is not None:
            raise TypeError(f"{model.__name__}.{key}: a server-only default cannot be inserted")
        process = column.type._cached_bind_processor(dialect)
        columns.append(_Column(key, default, process))
    schema = f'"{table.schema}".' if table.schema else ""
    names = ", ".join(f'"{column.name}"' for column in table.columns)
    shape = _shapes[model] = _Shape(f'{schema}"{table.name}"', names, tuple(columns))
    return shape


_TYPMOD = re.compile(r"\(\d+(?:,\s*\d+)?\)")


def _arrays_of(model: type, dialect: Dialect) -> _Arrays:
    found = _arrays.get(model)
    if found is not None:
        return found
    shape = _shape(model, dialect)
    mapper: Mapper[Any] = sa_inspect(model)
    params: list[str] = []
    select: list[str] = []
    process: list[Callable[[Any], Any] | None] = []
    for n, (column, spec) in enumerate(zip(mapper.local_table.columns, shape.columns, strict=True)):
        kind = column.type
        # No length in the parameter's type: a value too long for its column is refused
        # by the INSERT, as it is when bound alone, not cut by a cast.
        name = _TYPMOD.sub("", kind.compile(dialect=dialect))
        if isinstance(kind, ARRAY):
            if not isinstance(kind.item_type, String | Uuid | Integer) or kind.dimensions not in (
                None,
                1,
            ):
                raise TypeError(f"{model.__name__}.{column.name}: {name} cannot be unnested")
            params.append("text[]")
            select.append(f"u.c{n}::{name}")
            process.append(_then_literal(spec.process))
        elif isinstance(kind, JSON | TSVECTOR):
            params.append("text[]")
            select.append(f"u.c{n}::{name}")
            fast = isinstance(kind, JSON) and dialect._json_serializer is None
            process.append(
                _json_processor(kind) if isinstance(kind, JSON) and fast else spec.process
            )
        else:
            params.append(f"{name}[]")
            select.append(f"u.c{n}")
            process.append(spec.process)
    found = _arrays[model] = _Arrays(shape, tuple(params), ", ".join(select), tuple(process))
    return found


def _then_literal(process: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if process is None:
        return _array_literal
    return lambda value: _array_literal(process(value))


def _array_literal(values: Sequence[Any] | None) -> str | None:
    """A one-dimensional array of text, UUIDs or whole numbers in PostgreSQL's text form."""
    if values is None:
        return None
    if not values:
        return "{}"
    items = (
        "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
        for v in values
    )
    return "{" + ",".join(items) + "}"


_encode_json = msgspec.json.Encoder().encode


def _json_processor(kind: JSON[Any]) -> Callable[[Any], Any]:
    """SQLAlchemy's bind processing of a JSON column with the default serializer
    (`json.dumps`), encoded by msgspec instead: the same document, in a fifth of the
    time (non-ASCII text is not escaped; PostgreSQL stores the same value)."""
    none_as_null = kind.none_as_null

    def process(value: Any) -> str | None:
        if value is JSON.NULL:
            value = None
        elif isinstance(value, Null) or (value is None and none_as_null):
            return None
        return _encode_json(value).decode()

    return process


def _unnest_statement(models: tuple[type, ...], dialect: Dialect) -> str:
    """One statement inserting rows of `models` (in that order), each model's rows given
    as one array per column: `INSERT ... SELECT ... FROM unnest($1, $2, ...)`, all but
    the last model's in a `WITH` (foreign keys are checked at the end of the statement).
    Its text depends on the models only, not on how many rows each has."""
    key = (*((model, -1) for model in models),)
    sql = _statements.get(key)
    if sql is not None:
        return sql
    parts = []
    number = 0
    for model in models:
        arrays = _arrays_of(model, dialect)
        given = ", ".join(f"${number + n + 1}::{t}" for n, t in enumerate(arrays.params))
        names = ", ".join(f"c{n}" for n in range(len(arrays.params)))
        number += len(arrays.params)
        parts.append(
            # Names from the mapped tables, placeholders for every value.
            f"INSERT INTO {arrays.shape.table} ({arrays.shape.names}) "  # noqa: S608
            f"SELECT {arrays.select} FROM unnest({given}) AS u({names})"
        )
    *first, last = parts
    withs = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(first))
    sql = f"WITH {withs} {last}" if first else last
    _statements[key] = sql
    return sql


def _statement(groups: list[tuple[_Shape, int]], key: tuple[tuple[type, int], ...]) -> str:
    """One statement for all the rows: an INSERT per model, all but the last in a
    `WITH` (PostgreSQL checks foreign keys at the end of the statement, so a row may
    refer to one inserted by another part of it)."""
    sql = _statements.get(key)
    if sql is not None:
        return sql
    parts = []
    number = 0
    for shape, count in groups:
        tuples = []
        for _ in range(count):
            width = len(shape.columns)
            tuples.append("(" + ", ".join(f"${number + n}" for n in range(1, width + 1)) + ")")
            number += width
        values = ", ".join(tuples)
        # Names from the mapped tables, placeholders for every value.
        parts.append(f"INSERT INTO {shape.table} ({shape.names}) VALUES {values}")  # noqa: S608
    *first, last = parts
    withs = ", ".join(f"w{n} AS ({part})" for n, part in enumerate(first))
    sql = f"WITH {withs} {last}" if first else last
    if len(_statements) < _MAX_STATEMENTS:
        _statements[key] = sql
    return sql


def _values(shape: _Shape, obj: object) -> list[Any]:
    state = obj.__dict__
    out = []
    for column in shape.columns:
        value = state.get(column.key, _MISSING)
        if (value is _MISSING or value is None) and column.default is not None:
            value = state[column.key] = column.default()
        elif value is _MISSING:
            value = state[column.key] = None  # stored as NULL, and loaded as such
        out.append(column.process(value) if column.process is not None else value)
    return out


def fill_defaults(session: AsyncSession, obj: object) -> None:
    """Give the attributes of new `obj` left unset their Python-side defaults (else
    None), as `insert()` and a flush do."""
    _values(_shape(type(obj), session_dialect(session)), obj)


def new(model: type[T], **values: Any) -> T:
    """A new (transient) `model` with `values` as its column attributes, as
    `model(**values)` makes it but without the ORM's per-attribute set events (a few
    microseconds each; a case has some forty columns). Unknown names raise TypeError,
    as the constructor does; relationships cannot be given."""
    known = _keys.get(model)
    if known is None:
        mapper = sa_inspect(model)
        known = _keys[model] = (
            frozenset(a.key for a in mapper.column_attrs),
            mapper.class_manager.new_instance,
        )
    allowed, make = known
    if not allowed.issuperset(values):
        unknown = sorted(values.keys() - allowed)
        raise TypeError(f"{model.__name__} has no column attribute {unknown[0]!r}")
    obj: T = make()
    obj.__dict__.update(values)
    return obj


def loaded(session: AsyncSession, model: type[T], record: Mapping[str, Any]) -> T:
    """The row `record` (every column of `model`'s table, by column name, as a `Query`
    read it) as a `model` in the session, as an ORM query would have loaded it:
    persistent, unchanged, in the identity map. An instance already there for the same
    key is answered instead, as an ORM query does too."""
    mapper: Mapper[Any] = sa_inspect(model)
    values = {a.key: record[a.columns[0].name] for a in mapper.column_attrs}
    key = mapper.identity_key_from_primary_key(
        tuple(values[mapper.get_property_by_column(c).key] for c in mapper.primary_key)
    )
    present = session.sync_session.identity_map.get(key)
    if present is not None:
        return present  # type: ignore[no-any-return]
    obj: T = mapper.class_manager.new_instance()
    obj.__dict__.update(values)
    attach(session.sync_session, [obj])
    return obj


async def insert(session: AsyncSession, *objects: object) -> None:
    """INSERT new ORM `objects` now, all in one statement, and attach them to the
    session as stored rows; inside `together()`, when it ends. Tenant-owned rows get
    the bound tenant (see `closeloop.rows`' docstring, also for what it is not for)."""
    own(required_tenant(session), objects, unscoped_now(session))
    held: list[object] | None = session.info.get(_HELD_KEY)
    if held is not None:
        held.extend(objects)
    else:
        await _write(session, list(objects))


@contextlib.asynccontextmanager
async def together(session: AsyncSession) -> AsyncIterator[None]:
    """Hold the rows `insert()` is given inside the block and write them all in one
    statement as it ends (one round trip instead of one per call). Code inside must not
    read those rows back; when the block raises, they are dropped."""
    if _HELD_KEY in session.info:
        raise RuntimeError("together() blocks do not nest")
    held: list[object] = []
    session.info[_HELD_KEY] = held
    try:
        yield
    finally:
        session.info.pop(_HELD_KEY, None)
    await _write(session, held)


async def _write(session: AsyncSession, objects: list[object]) -> None:
    if not objects:
        return
    if session.new or session.dirty or session.deleted:
        await session.flush()
    conn = await driver(session)  # the tenant still bound, as when the rows were given
    for sql, args, many in _statements_for(session_dialect(session), objects):
        if many:
            await conn.executemany(sql, args)
        else:
            await conn.execute(sql, *args)
    attach(session.sync_session, objects)


def _statements_for(dialect: Dialect, objects: Sequence[object]) -> list[tuple[str, Any, bool]]:
    """(SQL, arguments, executemany?) that insert `objects`: one statement for all of
    them, or, past the protocol's limit of parameters, one executemany per model."""
    by_model: dict[type, list[object]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj)
    key = tuple((model, len(group)) for model, group in by_model.items())
    groups = [(_shape(model, dialect), len(group)) for model, group in by_model.items()]
    if sum(len(shape.columns) * count for shape, count in groups) <= _MAX_PARAMETERS:
        args = [
            value
            for (shape, _), group in zip(groups, by_model.values(), strict=True)
            for obj in group
            for value in _values(shape, obj)
        ]
        return [(_statement(groups, key), args, False)]
    return [
        (
            _statement([(shape, 1)], ((model, 1),)),
            [_values(shape, obj) for obj in group],
            True,
        )
        for (shape, _), (model, group) in zip(groups, by_model.items(), strict=True)
    ]


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Many:
    """An `insert_many()` made ready (`many()`): its statement and arrays, for the
    tenant that was bound when it was made."""

    tenant_id: uuid.UUID | None
    unscoped: bool
    sql: str
    args: list[list[Any] | None]
    count: int


def many(session: AsyncSession, objects: Sequence[object]) -> Many:
    """The first half of `insert_many()`, which needs no round trip: the tenant rule
    applied, defaults and bind processing done, the arrays built. A writer can make
    the next statement ready while the database runs the one before."""
    tenant_id = required_tenant(session)
    unscoped = unscoped_now(session)
    own(tenant_id, objects, unscoped)
    dialect = session_dialect(session)
    by_model: dict[type, list[object]] = {}
    for obj in objects:
        by_model.setdefault(type(obj), []).append(obj)
    args: list[list[Any] | None] = []
    for model, group in by_model.items():
        arrays = _arrays_of(model, dialect)
        args += _column_arrays(arrays, [obj.__dict__ for obj in group])
    sql = _unnest_statement(tuple(by_model), dialect) if objects else ""
    return Many(tenant_id, unscoped, sql, args, len(objects))


async def insert_many(session: AsyncSession, objects: Sequence[object] | Many) -> None:
    """INSERT many new ORM `objects` now in one statement whose text depends only on
    their models (one array per column, `unnest`): for a writer of thousands of rows
    (an import), where `insert()`'s statement of one placeholder per value would be
    built anew for each count of rows, and its parameters bound one by one. `objects`
    may be made ready before (`many()`), in the same tenant.

    Defaults, bind processing, the tenant rule and pending changes are as for
    `insert()`; models go in the order first met (parents before children). Unlike
    `insert()`, the objects are not attached to the session (the unit of work's
    bookkeeping costs more than the INSERT): the caller must not use them as rows of
    the session. Array columns must hold text, UUIDs or whole numbers."""
    ready = objects if isinstance(objects, Many) else many(session, objects)
    tenant_id = required_tenant(session)
    if ready.tenant_id != tenant_id and not (ready.unscoped and unscoped_now(session)):
        raise TenantMismatch(f"rows made ready for tenant {ready.tenant_id}, bound: {tenant_id}")
    if not ready.count:
        return
    if session.new or session.dirty or session.deleted:
        await session.flush()
    conn = await driver(session)
    await conn.execute(ready.sql, *ready.args)


def _column_arrays(arrays: _Arrays, states: list[dict[str, Any]]) -> list[list[Any] | None]:
    """Each column's values, as `_values` gives them row by row: unset attributes take
    their default (else None) and keep it, as a flush leaves them; then bind processing."""
    out: list[list[Any] | None] = []
    for column, process in zip(arrays.shape.columns, arrays.process, strict=True):
        key, default = column.key, column.default
        if default is None:
            values = [state.setdefault(key, None) for state in states]
        else:
            values = [state.get(key) for state in states]
            if any(value is None for value in values):
                for n, state in enumerate(states):
                    if values[n] is None:
                        values[n] = state[key] = default()
        if all(value is None for value in values):
            # unnest() pads a NULL array with NULLs: nothing to encode element by element.
            out.append(None)
        else:
            out.append(values if process is None else [process(value) for value in values])
    return out
