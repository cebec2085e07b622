"""Creating Closeloop's database and its two roles, and refusing a role that is too strong.

* the **owner** role owns the database and every table and runs the migrations;
* the **application** role owns nothing, is not a superuser and has `NOBYPASSRLS`,
  so row-level security always applies to it.

`provision()` needs a superuser connection (the embedded server, a test server, or
an operator setting up a new deployment with `closeloop db provision`).
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["Provisioned", "UnsafeAppRole", "check_app_role", "provision", "with_database"]

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class UnsafeAppRole(RuntimeError):
    """The application's database role could escape row-level security."""


@dataclasses.dataclass(frozen=True, slots=True)
class Provisioned:
    owner_url: str
    app_url: str


def _ident(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


def with_database(url: str, database: str, *, user: str | None = None) -> str:
    """The same server URL pointing at another database (and optionally another user)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if user is not None:
        host = netloc.rpartition("@")[2]
        netloc = f"{user}@{host}"
    query = urlencode(dict(parse_qsl(parts.query)))
    return urlunsplit((parts.scheme, netloc, f"/{database}", query, ""))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def provision(
    superuser_url: str,
    *,
    database: str = "closeloop",
    owner_role: str = "closeloop_owner",
    app_role: str = "closeloop_app",
    drop_existing: bool = False,
) -> Provisioned:
    """Create the roles and the database if they are missing; return both URLs.

    Passwords are not set here: the embedded server and the test servers trust
    local connections. A deployment with password authentication sets them itself.
    """
    conn = await asyncpg.connect(_asyncpg_dsn(superuser_url))
    try:
        for role, extra in ((owner_role, ""), (app_role, " NOCREATEDB NOCREATEROLE")):
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            if not exists:
                await conn.execute(
                    f"CREATE ROLE {_ident(role)} LOGIN NOSUPERUSER NOBYPASSRLS{extra}"
                )
        if drop_existing:
            await conn.execute(f"DROP DATABASE IF EXISTS {_ident(database)} WITH (FORCE)")
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(
                f"CREATE DATABASE {_ident(database)} OWNER {_ident(owner_role)} "
                "ENCODING 'UTF8' TEMPLATE template0"
            )
    finally:
        await conn.close()

    conn = await asyncpg.connect(_asyncpg_dsn(with_database(superuser_url, database)))
    try:
        # Only the owner creates objects; the application role reads and writes rows.
        await conn.execute(f"ALTER SCHEMA public OWNER TO {_ident(owner_role)}")
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        await conn.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {_ident(app_role)}")
    finally:
        await conn.close()

    return Provisioned(
        owner_url=with_database(superuser_url, database, user=owner_role),
        app_url=with_database(superuser_url, database, user=app_role),
    )


async def check_app_role(engine: AsyncEngine) -> None:
    """Refuse to serve through a role that could bypass row-level security."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT r.rolname, r.rolsuper, r.rolbypassrls, "
                    "  (SELECT count(*) FROM pg_class c"
                    "    JOIN pg_namespace n ON n.oid = c.relnamespace"
                    "    WHERE c.relowner = r.oid"
                    "      AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                    "      AND n.nspname NOT LIKE 'pg_toast%') AS owned "
                    "FROM pg_roles r WHERE r.rolname = current_user"
                )
            )
        ).one()
    name, superuser, bypass, owned = row
    if superuser:
        raise UnsafeAppRole(
            f"database role {name!r} is a superuser and would bypass row-level security; "
            "DATABASE_URL must use the application role (see docs/settings.md)"
        )
    if bypass:
        raise UnsafeAppRole(
            f"database role {name!r} has BYPASSRLS; DATABASE_URL must use a role with NOBYPASSRLS"
        )
    if owned:
        raise UnsafeAppRole(
            f"database role {name!r} owns {owned} tables; DATABASE_URL must use a role that owns "
            "nothing (migrations run as DATABASE_OWNER_URL)"
        )
