"""Alembic environment: runs migrations as the owner role, over asyncpg."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from closeloop.db import Base, create_engine
from closeloop.models import load_all_models

load_all_models()
target_metadata = Base.metadata
config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    url = config.attributes.get("owner_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL for migrations: set DATABASE_OWNER_URL")
    engine = create_engine(url, pool_size=1)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `closeloop db upgrade`")
asyncio.run(_main())
