"""New rows written at once through the driver, for the hot write paths.

`session.add(obj); await session.flush()` runs the ORM's unit of work for one row: it
sorts the session's changes, compiles or looks up an INSERT, builds an execution
context and a result, about a millisecond of CPU per row. Intake writes a handful of
such rows (the timeline event, the SLA clocks, the acknowledgement and its outbox
message), so that cost dominated it.

`insert(session, *objects)` writes new ORM objects with one prepared `INSERT` per
model through the asyncpg connection that already carries the session's transaction
(`driver(session)`), then attaches them to the session as stored rows, exactly as a
flush leaves them: persistent, every column loaded, nothing pending. What the ORM
would have done is kept:

* Python-side column defaults (`default=`) fill the attributes left unset;
* each column's bind processing (the type's `bind_processor`) applies, and JSON goes
  through the codec SQLAlchemy installed on the connection;
* pending ORM changes are flushed first, so a new row may refer to rows added the
  usual way a moment before;
* the rows are in the transaction (row-level security sees the bound tenant).

Not for: configuration models (the configuration cache learns of their changes from
the ORM's flush events, `closeloop.config.current`), models with a column only the
server fills (`server_default` without `default`), or joined inheritance. An error of
the database arrives as the driver's exception (`asyncpg.PostgresError`), not as
SQLAlchemy's.

`Query(statement)` is the same idea for a Core statement the hot paths run on every
request: compiled once, then sent straight through the driver with its bound
parameters, skipping SQLAlchemy's per-execution work (execution context, result
objects, ORM event hooks). Row-level security still applies, as to every statement
of the transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Table, bindparam, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.sql import Executable
from sqlalchemy.util import await_

__all__ = [
    "InsertNew",
    "Query",
    "driver",
    "insert",
    "loaded",
    "new",
    "sync_driver",
    "together",
]

_MISSING = object()
T = TypeVar("T")
_HELD_KEY = "closeloop.rows.held"
_DRIVER_KEY = "closeloop.rows.driver"
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


def _dialect(session: AsyncSession) -> Dialect:
    bind = session.bind
    assert bind is not None, "closeloop.rows needs a session bound to an engine"
    return bind.dialect


def _fill_defaults(session: AsyncSession, obj: object) -> None:
    """Give the attributes of new `obj` left unset their Python-side defaults (else
    None), as `insert()` and a flush do."""
    _values(_shape(type(obj), _dialect(session)), obj)


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
    _attach(session.sync_session, [obj])
    return obj


async def driver(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection of the session's transaction, the transaction begun (kept
    in the session until the transaction ends)."""
    conn: asyncpg.Connection | None = session.info.get(_DRIVER_KEY)
    if conn is None:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        conn = session.info[_DRIVER_KEY] = await _begun(raw.dbapi_connection)
    return conn


def sync_driver(session: Session) -> asyncpg.Connection:
    """`driver()` for code running in SQLAlchemy's greenlet (`run_sync`, session events);
    the same connection, kept the same way."""
    conn: asyncpg.Connection | None = session.info.get(_DRIVER_KEY)
    if conn is None:
        raw = session.connection().connection
        conn = session.info[_DRIVER_KEY] = await_(_begun(raw.dbapi_connection))
    return conn


@event.listens_for(Session, "after_transaction_end")
def _forget_driver(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_DRIVER_KEY, None)


async def _begun(adapted: Any) -> asyncpg.Connection:
    # SQLAlchemy's asyncpg adapter sends BEGIN lazily, with the first statement it
    # runs itself; a statement sent straight to the driver must not come first.
    if adapted._transaction is None:
        await adapted._start_transaction()
    connection: asyncpg.Connection = adapted.driver_connection
    return connection


async def insert(session: AsyncSession, *objects: object) -> None:
    """INSERT new ORM `objects` now, all in one statement, and attach them to the
    session as stored rows; inside `together()`, when it ends. See the module's
    docstring for what it is not for."""
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
    conn = await driver(session)
    for sql, args, many in _statements_for(_dialect(session), objects):
        if many:
            await conn.executemany(sql, args)
        else:
            await conn.execute(sql, *args)
    _attach(session.sync_session, objects)


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


def _attach(session: Session, objects: Sequence[object]) -> None:
    for obj in objects:
        make_transient_to_detached(obj)
        session.add(obj)


class Query:
    """A Core statement compiled once and run through the driver.

    Parameters are passed by name (bound parameters with a value in the statement keep
    it unless given); rows come back as asyncpg Records, by column name, with values as
    the driver decodes them (SQLAlchemy's result processing is skipped: meant for
    columns of plain types). Expanding `IN` parameters are not supported.
    """

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]] | None = None

    def _compile(
        self, dialect: Dialect
    ) -> tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]]:
        if self._compiled is None:
            compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            if any(b.expanding for b in compiled.binds.values()):
                raise TypeError("Query does not take expanding IN parameters")
            self._compiled = (
                compiled.string,
                tuple(compiled.positiontup or ()),
                dict(compiled._bind_processors),
                dict(compiled.params),
            )
        return self._compiled

    async def _run(
        self, session: AsyncSession, params: dict[str, Any]
    ) -> tuple[asyncpg.Connection, str, list[Any]]:
        conn = await driver(session)
        sql, names, processors, defaults = self._compile(_dialect(session))
        args = []
        for name in names:
            value = params[name] if name in params else defaults[name]
            process = processors.get(name)
            args.append(process(value) if process is not None else value)
        return conn, sql, args

    async def fetch(self, session: AsyncSession, **params: Any) -> list[asyncpg.Record]:
        conn, sql, args = await self._run(session, params)
        found: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return found

    async def fetchrow(self, session: AsyncSession, **params: Any) -> asyncpg.Record | None:
        conn, sql, args = await self._run(session, params)
        return await conn.fetchrow(sql, *args)

    async def fetchval(self, session: AsyncSession, **params: Any) -> Any:
        conn, sql, args = await self._run(session, params)
        return await conn.fetchval(sql, *args)


class InsertNew:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING` of one new `model` object, built
    once and run through the driver (a `Query`), for rows a unique key may refuse.

    `computed` gives SQL for some columns instead of the object's value (its bound
    parameters are passed to `insert()`); those attributes stay unloaded, as after an
    ORM insert of a server-computed column.
    """

    __slots__ = ("_columns", "_computed", "_query")

    def __init__(self, model: type, computed: Mapping[str, Any] | None = None) -> None:
        mapper: Mapper[Any] = sa_inspect(model)
        table = mapper.local_table
        assert isinstance(table, Table), f"{model.__name__}: a single-table model"
        computed = dict(computed or {})
        attrs = {a.key: a.columns[0].name for a in mapper.column_attrs}
        self._columns = {key: name for key, name in attrs.items() if name not in computed}
        self._computed = tuple(key for key, name in attrs.items() if name in computed)
        values: dict[str, Any] = {name: bindparam(f"p_{name}") for name in self._columns.values()}
        self._query = Query(
            pg_insert(table)
            .values({**values, **computed})
            .on_conflict_do_nothing()
            .returning(*(table.c[name] for name in self._columns.values()))
        )

    async def insert(self, session: AsyncSession, obj: object, **params: Any) -> bool:
        """Insert `obj` (its unset attributes given their defaults first). True: the row
        is stored and `obj`, loaded with it, is in the session; False: a unique key was
        taken, nothing was written and `obj` stays new."""
        _fill_defaults(session, obj)
        state = obj.__dict__
        for key in self._computed:
            state.pop(key, None)
        values = {f"p_{name}": state[key] for key, name in self._columns.items()}
        row = await self._query.fetchrow(session, **values, **params)
        if row is None:
            return False
        state.update({key: row[name] for key, name in self._columns.items()})
        _attach(session.sync_session, [obj])
        return True
