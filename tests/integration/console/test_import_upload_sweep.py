"""Files uploaded on the import page are kept `CLOSELOOP_IMPORT_UPLOAD_DAYS` days after
their upload or after the last run started from them, then gone: their page answers 404
as an unknown one does, a dry run of theirs can no longer be run for real (409), and the
upload sweep deletes them. The sweep queues its job only for the tenants with such a
file (`closeloop_import_uploads_due`, migration 0022), the worker deletes them (each
audited), keeps the young ones and those a recent run was started from, and leaves
other tenants' files alone."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import dramatiq
import pytest
from import_page_support import (
    GBK_FILE,
    RUN,
    admin_page,
    finished_run,
    mapping_form,
    upload_file,
)
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from closeloop.db import sessionmaker, transaction, utcnow
from closeloop.imports.actors import uploads_due
from closeloop.provision import Provisioned
from closeloop.queue.models import OutboxMessage
from closeloop.queue.relay import Relay
from closeloop.queue.schedule import Schedule
from closeloop.queue.scheduler import fan_out
from closeloop.settings import Settings
from support import Client, TenantHandle, import_worker

KEEP_DAYS = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, import_upload_days=KEEP_DAYS)


@pytest.fixture
async def broker(database: Provisioned, settings: Settings) -> AsyncIterator[dramatiq.Broker]:
    async with import_worker(database.app_url, settings) as running:
        yield running


def _sweep(name: str) -> Schedule:
    """The upload sweep under a name of its own (a period of its own)."""
    return Schedule(
        name=name, every_seconds=3600, actor_name="delete_expired_uploads", targets=uploads_due
    )


async def _kept(engine: AsyncEngine, tenant: TenantHandle) -> dict[str, dt.datetime]:
    """The tenant's stored uploads: file name → until when it is kept."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        rows = await conn.execute(text("SELECT file_name, expires_at FROM import_uploads"))
        return {row.file_name: row.expires_at for row in rows}


async def _keep_until(
    engine: AsyncEngine, tenant: TenantHandle, file_name: str, until: dt.datetime
) -> None:
    """Move an upload's end (as if it had been uploaded that long ago), as the owner."""
    async with engine.begin() as conn:
        await conn.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.id)}
        )
        await conn.execute(
            text("UPDATE import_uploads SET expires_at = :until WHERE file_name = :name"),
            {"until": until, "name": file_name},
        )


async def _jobs(engine: AsyncEngine, tenant: TenantHandle) -> list[str]:
    async with transaction(sessionmaker(engine), tenant.id) as session:
        names = await session.scalars(select(OutboxMessage.actor_name))
        return [name for name in names if name == "delete_expired_uploads"]


async def _dry_run(client: Client, csrf: str, page: str) -> str:
    """Start a dry run of the upload on `page`; the run's id."""
    started = await client.post(page, data=mapping_form(csrf, "dry_run"), follow_redirects=False)
    assert started.status_code == 303, started.text
    found = RUN.search(started.headers["location"])
    assert found
    return found.group(1)


async def test_uploads_are_kept_for_their_days_then_swept(
    client: Client,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    app_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    broker: dramatiq.Broker,
) -> None:
    csrf = await admin_page(client, tenant)
    keep = dt.timedelta(days=KEEP_DAYS)
    before = utcnow()
    pages = {}
    for name in ("old.csv", "young.csv", "used.csv"):
        uploaded = await upload_file(client, csrf, name, GBK_FILE, "shipped:heimao")
        assert uploaded.status_code == 303, uploaded.text
        pages[name] = uploaded.headers["location"]
    after = utcnow()
    stored = await _kept(owner_engine, tenant)
    assert set(stored) == set(pages)
    for name, until in stored.items():  # the setting's days from the upload
        assert before + keep <= until <= after + keep, name

    # A dry run of "old" while it is kept; then its time runs out (an hour ago).
    old_run = await _dry_run(client, csrf, pages["old.csv"])
    await finished_run(client, old_run, app_engine, broker)
    await _keep_until(owner_engine, tenant, "old.csv", utcnow() - dt.timedelta(hours=1))
    # "used" has a minute left when a dry run starts from it: kept as long again from it.
    await _keep_until(owner_engine, tenant, "used.csv", utcnow() + dt.timedelta(minutes=1))
    started = utcnow()
    used_run = await _dry_run(client, csrf, pages["used.csv"])
    assert (await _kept(owner_engine, tenant))["used.csv"] >= started + keep

    theirs = await upload_file(
        client, await admin_page(client, other_tenant), "theirs.csv", GBK_FILE
    )
    assert theirs.status_code == 303, theirs.text
    csrf = await admin_page(client, tenant)

    # Out of time: not found at once, as an unknown file, before any sweep ran.
    gone = await client.get(pages["old.csv"])
    unknown = await client.get(f"/console/imports/uploads/{uuid.uuid4()}")
    assert gone.status_code == unknown.status_code == 404
    assert gone.text == unknown.text
    confirm = await client.post(
        f"/console/imports/runs/{old_run}/confirm", data={"_csrf_token": csrf}
    )
    assert confirm.status_code == 409
    assert "no longer kept (uploads are kept 3 days" in confirm.text

    # The sweep: a job for this tenant only (the other's file is young).
    assert await fan_out(app_engine, _sweep("upload-sweep-test")) == 1
    assert await _jobs(app_engine, tenant) == ["delete_expired_uploads"]
    assert await _jobs(app_engine, other_tenant) == []
    for _ in range(300):
        await Relay(app_engine, broker).drain()
        if "old.csv" not in await _kept(owner_engine, tenant):
            break
        await asyncio.sleep(0.1)
    assert set(await _kept(owner_engine, tenant)) == {"young.csv", "used.csv"}
    assert set(await _kept(owner_engine, other_tenant)) == {"theirs.csv"}
    # Nothing left to do: the next period queues nothing.
    assert await fan_out(app_engine, _sweep("upload-sweep-test-2")) == 0

    audit = await client.get(
        "/api/v1/audit", headers=tenant.headers, params={"action": "import.upload_delete"}
    )
    (entry,) = audit.json()["items"]
    assert entry["actor"] == "system:imports"
    assert entry["before"]["file_name"] == "old.csv"
    assert entry["before"]["rows"] == 4
    verified = await client.get("/api/v1/audit/verify", headers=tenant.headers)
    assert verified.json()["ok"] is True, verified.text
    # The run made from the file that is kept still goes on to be confirmed.
    await finished_run(client, used_run, app_engine, broker)
    real = await client.post(
        f"/console/imports/runs/{used_run}/confirm",
        data={"_csrf_token": csrf},
        follow_redirects=False,
    )
    assert real.status_code == 303, real.text
