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

`insert_many(session, objects)` is for writers of thousands of rows (an import): one
statement for all of them whose text depends only on their models (`INSERT ... SELECT
... FROM unnest($1, $2, ...)`, one array per column; COPY is not allowed on tables under
row-level security), with the same defaults, bind processing and tenant rule, but the
objects are not attached to the session. `many(session, objects)` makes such a
statement ready without a round trip, to be sent later in the same tenant.

Inside `session.begin_nested()`, a statement of the driver path runs inside the
savepoint (the driver connection is asked of the session each time, which makes
SQLAlchemy send the SAVEPOINT it otherwise sends with its own first statement), so a
refused statement rolls back only the savepoint.

`Query(statement)` is the same idea for a Core statement the hot paths run on every
request: compiled once, then sent straight through the driver with its bound
parameters, skipping SQLAlchemy's per-execution work (execution context, result
objects, ORM event hooks). Row-level security still applies, as to every statement
of the transaction.

Inside the tenant boundary, as the ORM path is (`closeloop.db`):

* nothing here runs SQL with no tenant bound to the session: `insert()`,
  `insert_many()`, a `Query`, an `InsertNew` and `driver()` raise `TenantNotBound`; rows
  made ready by `many()` for one tenant are refused in a session bound to another;
* a new row of a tenant-owned model gets the bound tenant as its `tenant_id`; a row
  that names another tenant is refused (`TenantMismatch`) before anything is sent;
* a statement's `tenant_id` parameter is the bound tenant: the caller need not give it,
  and giving another is refused (`TenantMismatch`). A `Query` over a table with a
  `tenant_id` column must have that parameter (checked when it is built): it keeps
  to the bound tenant's rows as the ORM's filter keeps an ORM query;
* operator code opts out inside `closeloop.db.unscoped(session)`: no tenant needs to
  be bound, and the `tenant_id`s it gives are taken as they are (row-level security
  still applies to the application role).

Which modules may import this one is written down in the import contracts
(`pyproject.toml`, `[tool.importlinter]`), checked by `make lint`.

The package: `_session` (the connection of the session's transaction, the tenant
rule), `_insert` (new rows, `insert_many`), `_query` (`Query`, `InsertNew`).
"""

from __future__ import annotations

from closeloop.rows._insert import Many, insert, insert_many, loaded, many, new, together
from closeloop.rows._query import InsertNew, Query
from closeloop.rows._session import driver, sync_driver

__all__ = [
    "InsertNew",
    "Many",
    "Query",
    "driver",
    "insert",
    "insert_many",
    "loaded",
    "many",
    "new",
    "sync_driver",
    "together",
]
