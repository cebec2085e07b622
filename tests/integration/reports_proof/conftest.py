import pytest
import scenario
from proof_support import drained, worker
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.provision import Provisioned
from closeloop.settings import Settings
from support import Client, TenantHandle


@pytest.fixture
async def month(
    client: Client,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    tenant: TenantHandle,
    settings: Settings,
    database: Provisioned,
) -> scenario.World:
    """The hand-built month (scenario.py), its facts kept by the worker from the outbox."""
    async with worker(database.app_url, app_engine, settings):
        world = await scenario.build(client, app_engine, owner_engine, tenant, settings)
        await drained(app_engine, tenant.id, "refresh_case_facts")
    return world
