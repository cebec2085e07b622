"""Core statements compiled once and run through the driver (`closeloop.rows`' docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import asyncpg
from sqlalchemy import Table, bindparam
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper
from sqlalchemy.sql import Executable, visitors
from sqlalchemy.sql.elements import BindParameter, ClauseElement
from sqlalchemy.sql.util import find_tables

from closeloop.db import TenantMismatch, unscoped_now
from closeloop.rows._insert import fill_defaults
from closeloop.rows._session import (
    TENANT,
    attach,
    driver_connection,
    own,
    required_tenant,
    session_dialect,
)


def _names_tenant(statement: Executable) -> bool:
    """Whether `statement` has a `tenant_id` parameter; TypeError when it has none but
    reads or writes a table with a `tenant_id` column."""
    clause = cast(ClauseElement, statement)
    if any(isinstance(e, BindParameter) and e.key == TENANT for e in visitors.iterate(clause)):
        return True
    tables = find_tables(clause, include_crud=True, include_aliases=True)
    owned = [table.name for table in tables if TENANT in table.c]
    if owned:
        raise TypeError(
            f"a statement over {owned[0]} must name its tenant with "
            f"bindparam({TENANT!r}); the bound tenant fills it"
        )
    return False


class Query:
    """A Core statement compiled once and run through the driver.

    Parameters are passed by name (bound parameters with a value in the statement keep
    it unless given); rows come back as asyncpg Records, by column name, with values as
    the driver decodes them (SQLAlchemy's result processing is skipped: meant for
    columns of plain types). Expanding `IN` parameters are not supported.

    A `tenant_id` parameter is the session's bound tenant (`closeloop.rows`' docstring); a
    statement over a table with a `tenant_id` column without one is refused here.
    """

    __slots__ = ("_compiled", "_tenant_param", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: tuple[str, tuple[str, ...], dict[str, Any], dict[str, Any]] | None = None
        self._tenant_param = _names_tenant(statement)

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
        tenant_id = required_tenant(session)
        if self._tenant_param:
            given = params.get(TENANT)
            if given is None:
                params[TENANT] = tenant_id
            elif given != tenant_id and not unscoped_now(session):
                raise TenantMismatch(f"tenant_id {given} in a session bound to {tenant_id}")
        conn = await driver_connection(session)
        sql, names, processors, defaults = self._compile(session_dialect(session))
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
        values: dict[str, Any] = {
            name: bindparam(TENANT if name == TENANT else f"p_{name}")
            for name in self._columns.values()
        }
        self._query = Query(
            pg_insert(table)
            .values({**values, **computed})
            .on_conflict_do_nothing()
            .returning(*(table.c[name] for name in self._columns.values()))
        )

    async def insert(self, session: AsyncSession, obj: object, **params: Any) -> bool:
        """Insert `obj` (its unset attributes given their defaults first, its tenant the
        bound one). True: the row is stored and `obj`, loaded with it, is in the
        session; False: a unique key was taken, nothing was written and `obj` stays new."""
        own(required_tenant(session), [obj], unscoped_now(session))
        fill_defaults(session, obj)
        state = obj.__dict__
        for key in self._computed:
            state.pop(key, None)
        values = {
            TENANT if name == TENANT else f"p_{name}": state[key]
            for key, name in self._columns.items()
        }
        row = await self._query.fetchrow(session, **values, **params)
        if row is None:
            return False
        state.update({key: row[name] for key, name in self._columns.items()})
        attach(session.sync_session, [obj])
        return True
