"""Every model the configuration cache watches has the triggers that bump its tenant's
`config_version`; without them a cached copy would outlive a change."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import closeloop.web.app  # noqa: F401 - imports every module that registers a watched model
from closeloop.config import current
from closeloop.tenancy.models import Tenant

EVENTS = {"INSERT", "UPDATE", "DELETE"}


async def test_every_watched_table_bumps_the_config_version(owner_engine: AsyncEngine) -> None:
    tables = {m.__table__.name for m in current.watched() if m is not Tenant}
    assert {"channels", "sla_policies", "users", "notification_templates"} <= tables
    async with owner_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT event_object_table, event_manipulation "
                    "FROM information_schema.triggers "
                    "WHERE action_statement = 'EXECUTE FUNCTION bump_config_version()'"
                )
            )
        ).all()
    found: dict[str, set[str]] = {}
    for table, event in rows:
        found.setdefault(table, set()).add(event)
    missing = {t: sorted(EVENTS - found.get(t, set())) for t in tables if found.get(t) != EVENTS}
    assert missing == {}
