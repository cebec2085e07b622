"""New rows written at once through the driver (`closeloop.rows`' docstring)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper

from closeloop.db import unscoped_now
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


_shapes: dict[type, _Shape] = {}
_keys: dict[type, frozenset[str]] = {}
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
    allowed = _keys.get(model)
    if allowed is None:
        allowed = _keys[model] = frozenset(a.key for a in sa_inspect(model).column_attrs)
    unknown = values.keys() - allowed
    if unknown:
        raise TypeError(f"{model.__name__} has no column attribute {sorted(unknown)[0]!r}")
    obj: T = sa_inspect(model).class_manager.new_instance()
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
