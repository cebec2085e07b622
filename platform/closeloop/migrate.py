"""Running migrations, and the helpers migrations use to keep every tenant table isolated."""

from __future__ import annotations

from pathlib import Path

from alembic import command, op
from alembic.config import Config
from sqlalchemy.engine import make_url

__all__ = ["alembic_config", "app_role", "enable_tenant_rls", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(owner_url: str, app_role_name: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["owner_url"] = owner_url
    config.attributes["app_role"] = app_role_name
    return config


def upgrade(owner_url: str, app_role_name: str, revision: str = "head") -> None:
    """Bring the schema to `revision` as the owner, granting the application role its rights."""
    command.upgrade(alembic_config(owner_url, app_role_name), revision)


def role_of(url: str) -> str:
    name = make_url(url).username
    if not name:
        raise ValueError("the database URL names no user")
    return name


def app_role() -> str:
    """The application role being granted rights, as passed to this migration run."""
    name = op.get_context().config.attributes["app_role"]  # type: ignore[union-attr]
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unusual application role name {name!r}")
    return str(name)


def enable_tenant_rls(table: str) -> None:
    """Row-level security on a tenant table: enabled, forced on the owner too, one policy.

    `app.tenant_id` is set per transaction with `set_config(..., true)`; when it is
    unset or empty the comparison is NULL and no row is visible or writable.
    """
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    op.execute(
        f'CREATE POLICY tenant_isolation ON "{table}" '
        "USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid) "
        "WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
    )
